//! The actix-web server every integration test of this crate starts: 127.0.0.1, port 0, one
//! worker, HTTP/1 and h2c. Handlers find its [`Shutdown`] as `web::Data<Shutdown>`. Idle
//! connections close after 500 ms, so a graceful stop never waits long for a client that keeps
//! its connection.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use conformance::e2e::{HUB_LIMIT, within_hub};
use ssekit_actix_web::Shutdown;

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) shutdown: Shutdown,
    handle: ServerHandle,
    task: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Starts the server with the routes and data that `configure` adds.
    pub(crate) fn start(
        configure: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    ) -> Server {
        let shutdown = Shutdown::new();
        let data = web::Data::new(shutdown.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local address");
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(configure.clone())
        })
        .workers(1)
        .keep_alive(Duration::from_millis(500))
        .disable_signals()
        .shutdown_timeout(HUB_LIMIT.as_secs())
        .listen_auto_h2c(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        let task = actix_web::rt::spawn(server);
        Server {
            addr,
            shutdown,
            handle,
            task,
        }
    }

    /// Triggers the shutdown, stops the server gracefully and waits for it to finish.
    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        self.stop_with(true).await;
    }

    /// Stops the server without waiting for open connections.
    pub(crate) async fn stop_now(self) {
        self.stop_with(false).await;
    }

    async fn stop_with(self, graceful: bool) {
        within_hub(self.handle.stop(graceful)).await;
        within_hub(self.task)
            .await
            .expect("server task")
            .expect("server");
    }
}
