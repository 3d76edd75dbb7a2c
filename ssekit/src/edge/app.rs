//! The application's side of an edge listener: its hyper service, with the stream routes
//! served on the framework path for requests that arrive where the edge cannot take the
//! connection (a kept-alive connection that served the app first, HTTP/2).

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body, Frame as BodyFrame};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::service::Service;

use super::Inner;
use super::reactor::BoxSubscription;
use crate::SseBody;
use crate::broker::{Rejection, RequestInfo};
use crate::headers::{CONNECTION_KEEP_ALIVE, RESPONSE_HEADERS};
use crate::last_event_id;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The body of every response an edge listener's application side gives.
pub(crate) type AppBody = UnsyncBoxBody<Bytes, BoxError>;

/// `app`, except that a `GET` of a stream route is answered with the route's stream through
/// hyper (the framework path: `SseBody`, with the edge's keep-alive and shutdown).
#[derive(Clone)]
pub(crate) struct EdgeApp<S> {
    pub(crate) inner: Arc<Inner>,
    pub(crate) app: S,
}

impl<S, B> Service<http::Request<Incoming>> for EdgeApp<S>
where
    S: Service<http::Request<Incoming>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<AppBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let route = (request.method() == http::Method::GET
            && !request.headers().contains_key(http::header::UPGRADE))
        .then(|| {
            self.inner
                .routes
                .iter()
                .find(|r| r.path == request.uri().path())
        })
        .flatten();
        if let Some(route) = route {
            let query = request.uri().query();
            let info = RequestInfo::from_parts(
                request
                    .headers()
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_bytes())),
                query,
            );
            let header = request
                .headers()
                .get(last_event_id::HEADER)
                .map(|value| value.as_bytes());
            let last = last_event_id::from_request(header, query);
            let response = match (route.open)(&info, last.as_deref()) {
                Ok(subscription) => stream_response(&self.inner, subscription),
                Err(rejection) => rejection_response(&rejection),
            };
            return Box::pin(async move { Ok(response) });
        }
        let response = self.app.call(request);
        Box::pin(async move {
            let response = response.await.map_err(Into::into)?;
            Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
        })
    }
}

/// A stream route's response on the framework path.
fn stream_response(inner: &Inner, subscription: BoxSubscription) -> http::Response<AppBody> {
    let mut body = SseBody::new(subscription).shutdown_on(inner.stopped.signal());
    body = match &inner.config.keep_alive {
        Some(keep_alive) => body.keep_alive(keep_alive.clone()),
        None => body.no_keep_alive(),
    };
    let mut response = http::Response::new(StreamBody(body).boxed_unsync());
    let headers = response.headers_mut();
    // hyper drops `Connection` from HTTP/2 responses (see `crate::headers`).
    for (name, value) in RESPONSE_HEADERS.into_iter().chain([CONNECTION_KEEP_ALIVE]) {
        headers.insert(
            http::HeaderName::from_static(name),
            http::HeaderValue::from_static(value),
        );
    }
    response
}

/// A refused subscription on the framework path: its status, `Retry-After`, the reason.
fn rejection_response(rejection: &Rejection) -> http::Response<AppBody> {
    let body = http_body_util::Full::new(Bytes::from(rejection.to_string()))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(rejection.status()).unwrap_or(http::StatusCode::FORBIDDEN);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(value) = rejection
        .retry_after_header()
        .and_then(|seconds| http::HeaderValue::from_str(&seconds).ok())
    {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

/// [`SseBody`] as an HTTP body.
struct StreamBody(SseBody<BoxSubscription>);

impl Body for StreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, BoxError>>> {
        match Pin::new(&mut self.get_mut().0).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(BodyFrame::data(chunk)))),
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
