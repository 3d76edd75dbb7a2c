//! Runs the `ssekit` binary over every conformance vector in several chunkings and compares
//! its stdout, byte for byte, with the expected JSON lines.

mod common;

use conformance::{Output, Vector};
use ssekit_cli::json_string;

fn expected_stdout(vector: &Vector) -> String {
    let mut out = String::new();
    for output in &vector.expected.outputs {
        match output {
            Output::Event {
                event_type,
                data,
                id,
            } => out.push_str(&format!(
                "{{\"type\":{},\"data\":{},\"id\":{}}}\n",
                json_string(event_type),
                json_string(data),
                json_string(id)
            )),
            Output::Retry(ms) => out.push_str(&format!("{{\"retry\":{ms}}}\n")),
            Output::Error(_) => {}
        }
    }
    out.push_str(&format!(
        "{{\"last_event_id\":{}}}\n",
        json_string(&vector.expected.last_event_id)
    ));
    out
}

fn run_cli(args: &[String], input: &[u8]) -> (String, bool) {
    let output = common::run(args, input);
    (
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        output.status.success(),
    )
}

#[test]
fn cli_matches_every_vector_in_every_mode() {
    let mut checked = 0;
    for vector in conformance::vectors()
        .into_iter()
        .filter(|v| !v.needs_limits())
    {
        let expected = expected_stdout(&vector);
        let len = vector.input.len();
        let mut modes: Vec<Vec<String>> = vec![
            vec![],
            vec!["--chunk-size".into(), "1".into()],
            vec!["--chunk-size=3".into()],
        ];
        let mut rng = conformance::Rng::new(len as u64 + 7);
        let cuts: Vec<String> = (0..5).map(|_| rng.below(len + 1).to_string()).collect();
        modes.push(vec!["--splits".into(), cuts.join(",")]);
        for args in modes {
            let (stdout, ok) = run_cli(&args, &vector.input);
            assert!(ok, "{}: ssekit {args:?} failed", vector.name);
            assert_eq!(stdout, expected, "{}: ssekit {args:?}", vector.name);
            checked += 1;
        }
    }
    assert!(checked > 100);
}

#[test]
fn bad_arguments_exit_2_and_print_nothing_on_stdout() {
    for args in [
        vec!["--chunk-size".to_owned(), "0".to_owned()],
        vec!["--chunk-size".to_owned()],
        vec!["--splits".to_owned(), "1,x".to_owned()],
        vec!["--bogus".to_owned()],
    ] {
        let output = common::run(&args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn splits_may_be_unsorted_repeated_or_past_the_end() {
    let input = b"data: a\r\n\r\nid: 9\ndata: b\n\n";
    let (whole, _) = run_cli(&[], input);
    let (cut, ok) = run_cli(&["--splits".into(), "30,7,7,0,8,100".into()], input);
    assert!(ok);
    assert_eq!(whole, cut);
    assert_eq!(
        whole,
        "{\"type\":\"message\",\"data\":\"a\",\"id\":\"\"}\n{\"type\":\"message\",\"data\":\"b\",\"id\":\"9\"}\n{\"last_event_id\":\"9\"}\n"
    );
}
