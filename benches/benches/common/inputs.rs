//! The inputs of the bench targets: the parser streams (`super::streams`) and the encoders'
//! events.

pub(crate) use super::streams::*;

/// One event for the encoders, as an application holds it before encoding.
#[derive(Debug, Clone)]
pub(crate) struct EventSpec {
    pub(crate) event: Option<String>,
    pub(crate) id: Option<String>,
    /// May span several lines (LF).
    pub(crate) data: String,
}

/// How many events one encoder iteration encodes.
pub(crate) fn encoder_batch() -> usize {
    if quick() { 200 } else { 1_000 }
}

/// Small JSON token events: data only, one line of ~70 bytes.
pub(crate) fn token_specs() -> Vec<EventSpec> {
    let mut rng = Rng(1);
    (0..encoder_batch() as u64)
        .map(|i| EventSpec {
            event: None,
            id: None,
            data: token_json(i, &mut rng),
        })
        .collect()
}

/// Mixed events: an id, every other one an event name, 1-10 data lines of 10-80 bytes.
pub(crate) fn mixed_specs() -> Vec<EventSpec> {
    let mut rng = Rng(2);
    (0..encoder_batch() as u64)
        .map(|i| {
            let event = (rng.below(2) == 0).then(|| "update".to_owned());
            let mut data = String::new();
            for line in 0..=rng.below(10) {
                if line > 0 {
                    data.push('\n');
                }
                let len = 10 + rng.below(70) as usize;
                data.extend(std::iter::repeat_n(
                    char::from(b'a' + (line as u8 % 26)),
                    len,
                ));
            }
            EventSpec {
                event,
                id: Some(i.to_string()),
                data,
            }
        })
        .collect()
}
