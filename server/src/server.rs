//! The actix-web edge: turns HTTP into [`Request`]s for the route table and [`Response`]s
//! back into HTTP. Bodies are read as a stream with a size limit; large ones are spooled to
//! a temporary file while their hash is computed, so nothing big is held in memory.

use crate::error::ApiError;
use crate::files::{self, Spool};
use crate::http::{split_target, Body, Method, Request, Response, ResponseBody};
use crate::routes::{self, AuthMode};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use sogs_client::signing::BodyHasher;
use std::sync::Arc;

/// How long the edge waits for the next chunk of a request body (a client that promises
/// more bytes than it sends must not hold a request open forever).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Upload bodies up to this size stay in memory; larger ones go to a temporary file.
const SPOOL_THRESHOLD: usize = 256 * 1024;

/// The catch-all actix handler.
pub async fn entry(
    st: web::Data<Arc<AppState>>,
    http: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let resp = match to_request(&st, &http, payload).await {
        Ok(req) => routes::dispatch(&st, req, AuthMode::Headers).await,
        Err(e) => e.into_response(),
    };
    to_http(resp).await
}

async fn to_request(
    st: &AppState,
    http: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Request, ApiError> {
    let method = Method::parse(http.method().as_str())
        .ok_or_else(|| ApiError::bad_request("Unsupported method"))?;
    let (path, _) = split_target(http.uri().path())
        .ok_or_else(|| ApiError::bad_request("Invalid percent-encoding in path"))?;
    let query = Some(http.query_string())
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    let mut headers = Vec::new();
    for (name, value) in http.headers() {
        let name = name.as_str().to_ascii_lowercase();
        match value.to_str() {
            Ok(v) => headers.push((name, v.to_owned())),
            Err(_) if name.starts_with("x-sogs-") => {
                return Err(ApiError::bad_request(format!(
                    "Invalid authentication: {name} is not valid ASCII"
                )))
            }
            Err(_) => {}
        }
    }
    let limit = routes::body_limit(&st.config, method, &path);
    let declared = http
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(routes::too_large(method, &path, limit));
    }

    let spool_large = routes::spools_body(method, &path);
    let internal = |what: &'static str| {
        move |e: std::io::Error| ApiError::Internal(anyhow::Error::new(e).context(what))
    };
    let mut hasher = BodyHasher::new();
    let mut mem: Vec<u8> = Vec::new();
    let mut spool: Option<Spool> = None;
    let mut len: u64 = 0;
    while let Some(chunk) = tokio::time::timeout(BODY_TIMEOUT, payload.next())
        .await
        .map_err(|_| ApiError::bad_request("Request body timed out"))?
    {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("Bad request body: {e}")))?;
        len += chunk.len() as u64;
        if len > limit {
            return Err(routes::too_large(method, &path, limit));
        }
        hasher.update(&chunk);
        match spool.as_mut() {
            Some(f) => f.write(&chunk).map_err(internal("spooling body"))?,
            None => {
                mem.extend_from_slice(&chunk);
                if spool_large && mem.len() > SPOOL_THRESHOLD {
                    let mut f = st.files.spool().map_err(internal("spool file"))?;
                    f.write(&mem).map_err(internal("spooling body"))?;
                    mem = Vec::new();
                    spool = Some(f);
                }
            }
        }
    }
    let body = match spool {
        Some(f) => Body::File {
            path: f.finish(),
            len,
        },
        None => Body::Memory(mem.into()),
    };
    Ok(Request {
        method,
        path,
        query,
        headers,
        body,
        body_hash: hasher.finalize(),
        peer: http.peer_addr().map(|a| a.ip()),
    })
}

async fn to_http(resp: Response) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(resp.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (k, v) in &resp.headers {
        builder.insert_header((k.as_str(), v.as_str()));
    }
    match resp.body {
        ResponseBody::Bytes(b) => builder.body(b),
        ResponseBody::File { path, len } => match files::open_stream(&path).await {
            Ok(stream) => {
                builder.no_chunking(len);
                builder.streaming(stream)
            }
            Err(e) => {
                let err = ApiError::Internal(anyhow::Error::new(e).context("opening stored file"));
                Box::pin(to_http(err.into_response())).await
            }
        },
    }
}
