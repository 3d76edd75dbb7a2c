//! Runs every conformance vector through the parser whole, byte by byte and at random cuts.

#[test]
fn every_vector_in_every_chunking() {
    let n = conformance::assert_all_vectors_pass();
    eprintln!("{n} conformance vectors passed");
}
