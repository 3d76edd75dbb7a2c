//! Serving a vector back: the events a server sends so that a conforming parser reproduces a
//! vector's expected outcome.
//!
//! Every adapter's end-to-end test serves [`replay_events`] over real HTTP, parses the body it
//! receives and calls [`check_replay`]. That checks the whole server path (encoder, body stream,
//! framework, HTTP framing) against the same expectations as the parser.
//!
//! The events reproduce each vector's outputs in order: a dispatched event becomes an
//! [`Event`] with its data, its type as the event name (none for `message`) and an `id` field
//! whenever the last event ID differs from the previous one (including a change back to the
//! empty id); an accepted `retry` becomes a retry-only event; a final last event ID that no event
//! carried becomes an id-only event (it sets the id without dispatching anything).

use std::time::Duration;

use ssekit_proto::{Event, Limits};

use crate::{Output, Vector, parse_with_cuts};

/// The events that reproduce `vector`'s expected outcome, or why the vector cannot be served
/// (it needs special limits, expects a limit error, or has an event name the encoder refuses).
pub fn replay_events(vector: &Vector) -> Result<Vec<Event>, String> {
    if vector.needs_limits() {
        return Err(format!("{}: needs special limits", vector.name));
    }
    let mut events = Vec::new();
    let mut last_id = "";
    for output in &vector.expected.outputs {
        let event = match output {
            Output::Event {
                event_type,
                data,
                id,
            } => {
                let mut builder = Event::builder().data(data.as_str());
                if event_type != "message" {
                    builder = builder.event(event_type.as_str());
                }
                if id != last_id {
                    builder = builder.id(id.as_str());
                    last_id = id;
                }
                builder.build()
            }
            Output::Retry(millis) => Event::builder()
                .retry(Duration::from_millis(*millis))
                .build(),
            Output::Error(kind) => {
                return Err(format!("{}: expects a limit error ({kind})", vector.name));
            }
        };
        events.push(event.map_err(|e| format!("{}: cannot encode: {e}", vector.name))?);
    }
    if vector.expected.last_event_id != last_id {
        let id_only = Event::builder()
            .id(vector.expected.last_event_id.as_str())
            .build()
            .map_err(|e| format!("{}: cannot encode the final id: {e}", vector.name))?;
        events.push(id_only);
    }
    Ok(events)
}

/// Parses a response `body` (whole, default limits) and compares the outcome with `vector`'s
/// expected one; returns a description of the mismatch.
pub fn check_replay(vector: &Vector, body: &[u8]) -> Result<(), String> {
    let got = parse_with_cuts(body, &[], Limits::default());
    if got == vector.expected {
        Ok(())
    } else {
        Err(format!(
            "{} ({}): served body {:?}\n  expected {:?}\n  got      {:?}",
            vector.name,
            vector.file,
            String::from_utf8_lossy(body),
            vector.expected,
            got
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The replay is right before any server is involved: encoding the events and parsing them
    /// back gives every servable vector's expected outcome.
    #[test]
    fn every_servable_vector_replays_through_the_encoder() {
        let mut served = 0;
        for vector in crate::vectors() {
            let Ok(events) = replay_events(&vector) else {
                continue;
            };
            let body: Vec<u8> = events.iter().flat_map(Event::to_vec).collect();
            check_replay(&vector, &body).unwrap();
            served += 1;
        }
        assert!(served > 0);
    }
}
