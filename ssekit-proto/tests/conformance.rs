//! Runs every conformance vector through the parser whole, byte by byte and at random cuts.

#[test]
fn every_vector_in_every_chunking() {
    let n = conformance::assert_all_vectors_pass();
    eprintln!("{n} conformance vectors passed");
}

/// The same vectors, in the same chunkings, through the borrowing `Parser::feed_with`.
#[test]
fn every_vector_in_every_chunking_borrowed() {
    let n = conformance::assert_all_vectors_pass_borrowed();
    eprintln!("{n} conformance vectors passed through feed_with");
}
