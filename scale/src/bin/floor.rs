//! The floor: a minimal tokio server that answers each request with a fixed response head and
//! then hands the raw socket to the publisher, which encodes each event once into an HTTP/1.1
//! chunk (the bytes hyper would send) and writes it to every socket with one `write` call. A
//! socket that cannot take the whole chunk at once is dropped: no buffering, no tasks, no
//! wake-ups; the least any server can do per delivery.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";

fn main() -> std::io::Result<()> {
    let args = scale::ServerArgs::from_env()?;
    let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let publisher = sockets.clone();
    let mut id = 0u64;
    scale::spawn_publisher(move |data| {
        id += 1;
        let frame = format!("id: {id}\ndata: {data}\n\n");
        let chunk = format!("{:x}\r\n{frame}\r\n", frame.len()).into_bytes();
        let mut sockets = publisher.lock().unwrap_or_else(PoisonError::into_inner);
        sockets.retain_mut(|socket| matches!(socket.write(&chunk), Ok(n) if n == chunk.len()));
    });
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = scale::listen(args.backlog)?;
            scale::announce(listener.local_addr()?)?;
            loop {
                let (mut socket, _) = listener.accept().await?;
                let sockets = sockets.clone();
                tokio::spawn(async move {
                    let mut head = Vec::with_capacity(512);
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read_buf(&mut head).await {
                            Ok(n) if n > 0 && head.len() < 8192 => {}
                            _ => return,
                        }
                    }
                    if socket.write_all(HEAD).await.is_err() {
                        return;
                    }
                    let _ = socket.set_nodelay(true);
                    if let Ok(socket) = socket.into_std() {
                        sockets
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(socket);
                    }
                });
            }
        })
}
