//! The manual pages `--help` prints: [`MAIN`] (`ssekit --help`, which also documents the
//! stdin parse mode), [`WATCH`] (`ssekit watch --help`, `ssekit URL --help`) and [`SERVE`]
//! (`ssekit serve --help`) and [`BENCH`] (`ssekit bench --help`).

/// `ssekit --help`: every mode, the parse mode in full.
pub const MAIN: &str = "\
NAME
    ssekit - watch, serve and parse Server-Sent Events streams

SYNOPSIS
    ssekit [watch] URL [--json | --raw] [--event NAME]... [--count N] [--timeout S]
            [-H 'Name: value']... [-X METHOD] [-d DATA] [--last-event-id ID] [--no-reconnect]
            [--cacert FILE]
    ssekit serve [--listen ADDR] [--format lines|sse|json] [--exit-on-eof]
    ssekit bench URL [--connections N] [--duration S] [--json] [--last-event-id ID] ...
    ssekit [--chunk-size N | --splits I,J,K]  < STREAM

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

    parse   With no URL and no mode, reads an event stream from stdin and prints what a
            client would see, one JSON object per line:
              {\"type\":..,\"data\":..,\"id\":..}  each dispatched event (id: the last event ID)
              {\"retry\":N}                    each accepted retry value
              {\"last_event_id\":..}           once, after the end of input
            Nothing else goes to stdout; size limits are off (the input is in memory).

PARSE OPTIONS
    --chunk-size N     feed the parser consecutive N-byte chunks (default: all of stdin at once)
    --splits I,J,K     feed it the chunks between these byte offsets (any order)
    -h, --help         print this manual

EXIT STATUS
    0     success (watch: the stream ended cleanly or --count was reached)
    1     ssekit itself failed (writing stdout, reading stdin, binding the address,
          bench: resolving the host)
    2     bad arguments
    3     watch: closed by the server for good (204 No Content, another status than 200,
          a Content-Type other than text/event-stream)
    4     watch: network error (connection refused or reset) with nothing left to retry
    124   watch: --timeout ran out

EXAMPLES
    printf 'event: hi\\ndata: a\\ndata: b\\n\\n' | ssekit
    printf 'data: x\\r\\n\\r\\n' | ssekit --chunk-size 1
    ssekit http://127.0.0.1:8844/stream
    ssekit http://127.0.0.1:8844/stream --json --count 10 | jq -r 'select(.type).data'
    tail -f app.log | ssekit serve --listen 127.0.0.1:8845
";

/// `ssekit watch --help`.
pub const WATCH: &str = "\
NAME
    ssekit watch - print the events of an event stream as they arrive

SYNOPSIS
    ssekit [watch] URL [OPTIONS]

DESCRIPTION
    Connects to URL (http:// or https://) as a browser's EventSource does: it sends
    Accept: text/event-stream, and after a network error or the end of the stream it
    reconnects after the server's retry: time (3 s until the server sets one, backing off on
    repeated failures), sending Last-Event-ID. A 204 No Content, another status than 200 or
    another Content-Type than text/event-stream stops it for good.

    Events go to stdout; notices (connected, reconnecting, errors) go to stderr. By default
    each event is one readable line, more data lines indented below the first:
        [+1.234s] TYPE id=ID  DATA
    (+1.234s: when it was received, counted from the start; id=ID: the last event ID, left
    out while there is none). On a terminal the time, type and id are coloured, unless the
    NO_COLOR environment variable is set; never in --json or --raw output.

OUTPUT
    --json             one JSON object per line, as the parse mode prints them:
                       {\"type\":..,\"data\":..,\"id\":..} per event, {\"retry\":N} per retry
                       change, {\"last_event_id\":..} once at the end
    --raw              each event re-encoded as SSE wire text (event:, id: when it changed,
                       data: lines, a blank line; retry: N for a retry change): what the
                       client parsed, not the bytes received, so comments and line ends are
                       normalised. `ssekit` (parse mode) reads it back to the --json output.

SELECTING AND STOPPING
    --event NAME       print only events of type NAME (repeatable; plain events are
                       `message`)
    --count N          stop after printing N events (exit 0)
    --timeout S        stop after S seconds (decimals allowed), whatever happens (exit 124)
    --no-reconnect     stop at the first network error or end of stream instead of
                       reconnecting

REQUEST
    -H, --header 'Name: value'
                       send this request header on every connection (repeatable): Cookie,
                       Authorization, ...
    -X, --method METHOD
                       the request method (default GET, or POST with --data)
    -d, --data DATA    send DATA as the request body on every connection; @FILE sends the
                       file, @- sends stdin. Sets Content-Type: application/json unless a
                       --header gives one.
    --last-event-id ID send Last-Event-ID: ID on the first connection (resume where a
                       previous run stopped)
    --cacert FILE      for https://, also trust the PEM certificate(s) in FILE (a private
                       CA, a self-signed server); the built-in webpki roots stay trusted

EXIT STATUS
    0     the stream ended cleanly (the server ended it with --no-reconnect), --count was
          reached, or stdout was closed
    1     writing stdout failed
    2     bad arguments (unknown flag, bad value, invalid header, unreadable @FILE)
    3     closed by the server for good: 204 No Content, another status than 200, or a
          Content-Type other than text/event-stream
    4     network error (could not connect, connection reset) and no reconnection: with
          --no-reconnect
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
        ssekit serve --format sse < events.txt
";

/// `ssekit serve --help`.
pub const SERVE: &str = "\
NAME
    ssekit serve - serve stdin as a live, resumable event stream

SYNOPSIS
    ssekit serve [--listen ADDR] [--format lines|sse|json] [--exit-on-eof]

DESCRIPTION
    Reads stdin as it arrives and publishes each event to every connected client, through a
    resumable hub: it keeps the last 1024 events (8 MiB at most), so a client that reconnects
    with Last-Event-ID (header, or ?lastEventId=) gets what it missed, with no gap and no
    duplicate; a client asking for an id the hub no longer holds first gets an event named
    `sse-reset`. Idle streams get a keep-alive comment every 15 s.

        http://ADDR/events   the event stream (text/event-stream)
        http://ADDR/         a page that shows the events (an EventSource on /events)

    The address goes to stderr at start (`serving on http://ADDR/`). When stdin ends, the
    server keeps serving what it holds, until Ctrl-C or SIGTERM (or --exit-on-eof).

    Events get ids 1, 2, 3, ... from the hub, unless the input gives its own (--format sse
    or json): an id that differs from the previous event's is kept; an event that repeats
    the previous id (SSE ids persist from event to event) is numbered by the hub. An input
    id that a recent event already has (a number the hub gave, say) is sent all the same,
    with a warning on stderr: a client resuming with it goes on after the later event.

OPTIONS
    --listen ADDR      the address to listen on (default 127.0.0.1:8845; port 0 picks a free
                       port; a bare PORT means 127.0.0.1:PORT)
    --format FORMAT    how stdin is read:
                       lines  each line is the data of one `message` event (the default;
                              invalid UTF-8 is replaced by U+FFFD)
                       sse    SSE wire text, parsed as a client would (event:, id:, data:,
                              retry:); whole events, several data lines each
                       json   one JSON object per line: {\"event\":..,\"data\":..,\"id\":..}
                              (\"type\" for \"event\", as --json prints it; \"retry\": ms;
                              data that is not a string is sent as compact JSON; a line
                              without \"data\" sends nothing, its retry goes with the next
                              event; other keys are ignored). A bad line is reported on
                              stderr and skipped.
    --exit-on-eof      when stdin ends, let every client receive what is left, then exit
    -h, --help         print this manual

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
        ssekit http://127.0.0.1:8844/stream --json | ssekit serve --format json
";

/// `ssekit bench --help`.
pub const BENCH: &str = "\
NAME
    ssekit bench - load an event stream with many connections and measure delivery

SYNOPSIS
    ssekit bench URL [--connections N] [--duration S] [--connect-concurrency N]
                  [--last-event-id ID] [--events N] [--stalled N] [--json]

DESCRIPTION
    Opens N HTTP/1.1 connections to URL (http:// only) from one thread, each a GET with
    Accept: text/event-stream, and parses each response body (chunked or not) as an event
    stream. At most --connect-concurrency connections are connecting at a time (TCP
    connect until the response head); a failed connect is retried up to 8 times with
    backoff (50 ms, doubling, at most 1 s). A response other than 200 text/event-stream is
    a failure. Connections are not reopened: one the server ends counts as ended.

    The run stops after --duration seconds, counted from its start, or earlier when every
    connection is done (ended, failed, or reached --events). The soft limit on open files
    is raised toward the hard one when N needs it.

LATENCY CONVENTION
    An event whose data is a decimal Unix time, or a JSON object with a numeric field
    \"t\", carries its send time: in microseconds (recommended, e.g. 1764000000000000),
    milliseconds or nanoseconds, told apart by magnitude. Delivery latency is the time the
    bytes were read minus that time (the same clock, so run publisher and bench on one
    machine). Other events are counted but not timed. `sse-reset` events (a resumable hub
    signalling lost events) are counted apart, not as events.

OPTIONS
    -c, --connections N        connections to open (default 100)
    -d, --duration S           stop after S seconds (decimals allowed; default 10)
    --connect-concurrency N    connections connecting at once (default 64); N equal to
                               --connections opens them all at once
    --last-event-id ID         send Last-Event-ID: ID on every connection
    --events N                 a connection closes after N events (the run ends when all
                               are done)
    --stalled N                the last N connections read the response head and then
                               nothing (clients that do not drain; their receive buffer is
                               set to 4 KiB); 4 s before the end they drain to learn
                               whether the server ended them
    --json                     one JSON object instead of the table
    -h, --help                 print this manual

OUTPUT
    The table: connections (asked, connected, failed, ended by the server), stalled ones
    (and how many the server ended), events and events/s, events per reading connection
    (min, avg, max), sse-reset events (and how many connections got fewer events than
    the most and no sse-reset: losses nobody signalled), then p50/p99/max in milliseconds of delivery
    latency, connect time (first attempt to response head) and time to first event (first
    attempt to first event), and the first distinct errors.

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
        ssekit bench http://127.0.0.1:8845/events -c 100 -d 5
";
