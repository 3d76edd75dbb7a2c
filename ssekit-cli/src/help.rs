//! The manual's prose, for clap's `long_about` and `after_long_help` (the options document
//! themselves in `cli.rs`): `ssekit --help` (which also documents the stdin parse mode),
//! `ssekit watch --help` (and `ssekit URL --help`), `ssekit serve --help`, `ssekit bench
//! --help`.

/// The usage line of `ssekit --help`: every mode.
pub(crate) const MAIN_USAGE: &str = "\
ssekit [watch] <URL> [--json | --raw] [--event NAME]... [--count N] [--timeout S]
            [-H 'Name: value']... [-X METHOD] [-d DATA] [--last-event-id ID] [--no-reconnect]
            [--cacert FILE] [--escape WHEN] [--redirects POLICY] [--idle-timeout S]
    ssekit serve [--listen ADDR] [--format lines|sse|json] [--exit-on-eof]
    ssekit bench <URL> [--connections N] [--duration S] [--json] [--last-event-id ID] ...
    ssekit [parse] [--chunk-size N | --splits I,J,K]  < STREAM";

/// The NAME section of the main manual.
pub(crate) const MAIN_NAME: &str = "NAME\n    ssekit - watch, serve and parse Server-Sent Events streams (and load-test their servers)";

/// `ssekit --help`: what each mode does, the parse mode in full.
pub(crate) const MAIN_ABOUT: &str = "\
DESCRIPTION
    watch   Connects to an http:// or https:// URL as a browser's EventSource does
            (reconnecting with Last-Event-ID) and prints each event as it arrives: readable
            by default, JSON lines with --json, SSE wire text with --raw. `watch` may be left
            out: any command line with a URL is a watch. See `ssekit watch --help`.

    serve   Turns stdin into a live, resumable event stream on http://ADDR/events, with a page
            at http://ADDR/ that shows it. See `ssekit serve --help`.

    bench   Opens many connections to one http:// event stream and reports events/s, events
            per connection, delivery latency, connect time and failures. See
            `ssekit bench --help`.

    parse   With no URL and no mode (or `ssekit parse`), reads an event stream from stdin and
            prints what a client would see, one JSON object per line:
              {\"type\":..,\"data\":..,\"id\":..}  each dispatched event (id: the last event ID)
              {\"retry\":N}                    each accepted retry value
              {\"last_event_id\":..}           once, after the end of input
            Nothing else goes to stdout; size limits are off (the input is in memory). The
            options below cut the input into chunks before it is fed to the parser (the output
            is the same in any chunking: that is what they test).";

/// `ssekit --help`, after the options.
pub(crate) const MAIN_AFTER: &str = "\
EXIT STATUS
    0     success (watch: the stream ended cleanly or --count was reached)
    1     ssekit itself failed (writing stdout, reading stdin, binding the address,
          bench: resolving the host)
    2     bad arguments
    3     watch: closed by the server for good (204 No Content, another status than 200,
          a Content-Type other than text/event-stream)
    4     watch: network error (connection refused or reset) with nothing left to retry
    5     watch: a redirect that --redirects does not follow
    124   watch: --timeout ran out

EXAMPLES
    printf 'event: hi\\ndata: a\\ndata: b\\n\\n' | ssekit
    printf 'data: x\\r\\n\\r\\n' | ssekit --chunk-size 1
    ssekit http://127.0.0.1:8844/stream
    ssekit http://127.0.0.1:8844/stream --json --count 10 | jq -r 'select(.type).data'
    tail -f app.log | ssekit serve --listen 127.0.0.1:8845";

/// The NAME section of the parse manual.
pub(crate) const PARSE_NAME: &str =
    "NAME\n    ssekit parse - print the events of an event stream read from stdin, as JSON lines";

/// `ssekit parse --help`.
pub(crate) const PARSE_ABOUT: &str = "\
DESCRIPTION
    Reads an event stream from stdin and prints what a client would see, one JSON object per
    line:
      {\"type\":..,\"data\":..,\"id\":..}  each dispatched event (id: the last event ID)
      {\"retry\":N}                    each accepted retry value
      {\"last_event_id\":..}           once, after the end of input
    Nothing else goes to stdout; size limits are off (the input is in memory). `ssekit` with no
    URL and no mode does the same.";

/// `ssekit parse --help`, after the options.
pub(crate) const PARSE_AFTER: &str = "\
EXIT STATUS
    0     success
    1     reading stdin or writing stdout failed
    2     bad arguments

EXAMPLES
    printf 'event: hi\\ndata: a\\ndata: b\\n\\n' | ssekit parse
    printf 'data: x\\r\\n\\r\\n' | ssekit parse --splits 7,8";

/// The NAME section of the watch manual.
pub(crate) const WATCH_NAME: &str =
    "NAME\n    ssekit watch - print the events of an event stream as they arrive";

/// `ssekit watch --help`.
pub(crate) const WATCH_ABOUT: &str = "\
DESCRIPTION
    Connects to URL (http:// or https://) as a browser's EventSource does: it sends
    Accept: text/event-stream, and after a network error or the end of the stream it reconnects
    after the server's retry: time (3 s until the server sets one, backing off on repeated
    failures), sending Last-Event-ID. A 204 No Content, another status than 200 or another
    Content-Type than text/event-stream stops it for good. `watch` may be left out:
    `ssekit URL [OPTIONS]` is the same.

    Events go to stdout; notices (connected, reconnecting, errors) go to stderr. By default each
    event is one readable line, more data lines indented below the first:
        [+1.234s] TYPE id=ID  DATA
    (+1.234s: when it was received, counted from the start; id=ID: the last event ID, left out
    while there is none). On a terminal the time, type and id are coloured, unless the NO_COLOR
    environment variable is set; never in --json or --raw output. On a terminal, control
    characters in an event (ESC, BEL, ...) are shown as ^[, ^G, ... so that a server cannot
    drive the terminal (see --escape).";

/// `ssekit watch --help`, after the options.
pub(crate) const WATCH_AFTER: &str = "\
EXIT STATUS
    0     the stream ended cleanly (the server ended it with --no-reconnect), --count was
          reached, or stdout was closed
    1     writing stdout failed
    2     bad arguments (unknown flag, bad value, invalid header, unreadable @FILE)
    3     closed by the server for good: 204 No Content, another status than 200, or a
          Content-Type other than text/event-stream
    4     network error (could not connect, connection reset) and no reconnection: with
          --no-reconnect
    5     a redirect that --redirects does not follow (another origin with same-origin, any
          with never)
    124   --timeout ran out first

EXAMPLES
    Watch a stream:
        ssekit http://127.0.0.1:8844/stream
    Ten events as JSON, for a script:
        ssekit http://127.0.0.1:8844/stream --json --count 10 | jq -r 'select(.type).data'
    Only `tick` events, for at most 5 seconds:
        ssekit watch http://127.0.0.1:8844/stream --event tick --timeout 5
    Resume after the event with id 41:
        ssekit http://127.0.0.1:8844/stream --last-event-id 41
    A POST streaming API (an LLM completion):
        ssekit https://api.example.com/v1/chat/completions -H \"Authorization: Bearer $KEY\" \\
            -d '{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' \\
            --no-reconnect
    Record a stream as SSE text and replay it to browsers:
        ssekit http://127.0.0.1:8844/stream --raw > events.txt
        ssekit serve --format sse < events.txt";

/// The NAME section of the serve manual.
pub(crate) const SERVE_NAME: &str =
    "NAME\n    ssekit serve - serve stdin as a live, resumable event stream";

/// `ssekit serve --help`.
pub(crate) const SERVE_ABOUT: &str = "\
DESCRIPTION
    Reads stdin as it arrives and publishes each event to every connected client, through a
    resumable hub: it keeps the last 1024 events (8 MiB at most), so a client that reconnects
    with Last-Event-ID (header, or ?lastEventId=) gets what it missed, with no gap and no
    duplicate; a client asking for an id the hub no longer holds first gets an event named
    `sse-reset`. Idle streams get a keep-alive comment every 15 s.

        http://ADDR/events   the event stream (text/event-stream)
        http://ADDR/         a page that shows the events (an EventSource on /events)

    The address goes to stderr at start (`serving on http://ADDR/`). When stdin ends, the server
    keeps serving what it holds, until Ctrl-C or SIGTERM (or --exit-on-eof).

    Events get ids 1, 2, 3, ... from the hub, unless the input gives its own (--format sse or
    json): an id that differs from the previous event's is kept; an event that repeats the
    previous id (SSE ids persist from event to event) is numbered by the hub. An input id that a
    recent event already has (a number the hub gave, say) is sent all the same, with a warning on
    stderr: a client resuming with it goes on after the later event.";

/// `ssekit serve --help`, after the options.
pub(crate) const SERVE_AFTER: &str = "\
EXIT STATUS
    0     stopped by Ctrl-C, SIGTERM or --exit-on-eof
    1     the address could not be bound
    2     bad arguments

EXAMPLES
    A live, resumable view of a log for every browser tab (open http://127.0.0.1:8845/):
        tail -f app.log | ssekit serve
    A test server on a free port, serving a recorded stream:
        ssekit serve --listen 127.0.0.1:0 --format sse < events.txt
    JSON events from a script:
        (echo '{\"event\":\"deploy\",\"data\":{\"step\":1}}'; sleep 1;
         echo '{\"event\":\"deploy\",\"data\":{\"step\":2}}') | ssekit serve --format json
    Relay a remote stream to local browsers:
        ssekit http://127.0.0.1:8844/stream --json | ssekit serve --format json";

/// The NAME section of the bench manual.
pub(crate) const BENCH_NAME: &str =
    "NAME\n    ssekit bench - load an event stream with many connections and measure delivery";

/// `ssekit bench --help`.
pub(crate) const BENCH_ABOUT: &str = "\
DESCRIPTION
    Opens N HTTP/1.1 connections to URL (http:// only) from one thread, each a GET with
    Accept: text/event-stream, and parses each response body (chunked or not) as an event stream.
    At most --connect-concurrency connections are connecting at a time (TCP connect until the
    response head); a failed connect is retried up to 8 times with backoff (50 ms, doubling, at
    most 1 s). A response other than 200 text/event-stream is a failure. Connections are not
    reopened: one the server ends counts as ended.

    The run stops after --duration seconds, counted from its start, or earlier when every
    connection is done (ended, failed, or reached --events). The soft limit on open files is
    raised toward the hard one when N needs it. The load generator is the ssekit-bench crate.";

/// `ssekit bench --help`, after the options.
pub(crate) const BENCH_AFTER: &str = "\
LATENCY CONVENTION
    An event whose data is a decimal Unix time, or a JSON object with a numeric field
    \"t\", carries its send time: in microseconds (recommended, e.g. 1764000000000000),
    milliseconds or nanoseconds, told apart by magnitude. Delivery latency is the time the
    bytes were read minus that time (the same clock, so run publisher and bench on one
    machine). Other events are counted but not timed. `sse-reset` events (a resumable hub
    signalling lost events) are counted apart, not as events.

OUTPUT
    The table: connections (asked, connected, failed, ended by the server), stalled ones
    (and how many the server ended), events and events/s, events per reading connection
    (min, avg, max), sse-reset events (and how many connections got fewer events than
    the most and no sse-reset: losses nobody signalled), then p50/p99/max in milliseconds of
    delivery latency, connect time (first attempt to response head) and time to first event
    (first attempt to first event), and the first distinct errors.

    --json prints the same as one object, durations in microseconds:
      {\"connections\":N,\"connected\":N,\"failures\":N,\"ended_by_server\":N,
       \"stalled\":N,\"stalled_ended\":N,\"events\":N,\"resets\":N,
       \"reset_connections\":N,\"short_without_reset\":N,\"events_per_second\":F,
       \"per_connection\":{\"min\":N,\"avg\":F,\"max\":N},\"elapsed_us\":N,
       \"latency_us\":{\"count\":N,\"p50\":N,\"p99\":N,\"max\":N} or null,
       \"connect_us\":{..} or null,\"first_event_us\":{..} or null,
       \"errors\":[{\"error\":S,\"count\":N},..]}

EXIT STATUS
    0     the run completed (failures are in the report, not in the exit status)
    1     the host could not be resolved
    2     bad arguments

EXAMPLES
    1000 connections for 30 s against a local server:
        ssekit bench http://127.0.0.1:8845/events -c 1000 -d 30
    10 000 clients connecting at once, as JSON:
        ssekit bench http://127.0.0.1:8845/events -c 10000 --connect-concurrency 10000 \\
            -d 20 --json | jq '.connect_us'
    A server fed with timestamps (microseconds), 100 clients, 5 s:
        (while sleep 0.1; do date +%s%6N; done) | ssekit serve --listen 127.0.0.1:8845 &
        ssekit bench http://127.0.0.1:8845/events -c 100 -d 5";

/// The layout of every manual page: `-h` and `--help` both print it whole (the about text
/// brings its DESCRIPTION heading: clap trims the text's leading space).
pub(crate) const TEMPLATE: &str = "\
{before-help}SYNOPSIS
    {usage}

{about-with-newline}
{all-args}{after-help}";
