//! Capabilities, `/batch`, `/sequence` and the API documentation.

use super::{dispatch, AuthMode, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, Method, Request, Response, JSON, OCTET};
use crate::openapi::ApiDoc;
use serde::{Deserialize, Serialize};
use sogs_client::encoding::{b64_decode, b64_encode};
use std::collections::BTreeMap;
use utoipa::{OpenApi, ToSchema};

/// What this server implements, sorted.
pub fn capabilities_list(require_blind: bool) -> Vec<&'static str> {
    let mut caps = vec!["reactions", "sogs"];
    if require_blind {
        caps.insert(0, "blind");
    }
    caps
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Capabilities {
    pub capabilities: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
}

/// Server capabilities; `?required=a,b` answers 412 listing the missing ones.
#[utoipa::path(get, path = "/capabilities", tag = "general",
    params(("required" = Option<String>, Query, description = "Comma-separated required capabilities")),
    responses((status = 200, body = Capabilities), (status = 412, body = Capabilities)))]
pub async fn capabilities(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let caps = capabilities_list(ctx.st.config.require_blind_keys);
    let missing: Vec<String> = ctx
        .req
        .query_param("required")
        .map(|r| {
            r.split(',')
                .filter(|c| !c.is_empty() && !caps.contains(c))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let status = if missing.is_empty() { 200 } else { 412 };
    Ok(Response::json(
        status,
        &Capabilities {
            capabilities: caps,
            missing: (!missing.is_empty()).then_some(missing),
        },
    ))
}

/// One sub-request of `/batch` or `/sequence`. Other keys are ignored, as pysogs does.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubRequest {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[schema(value_type = Option<Object>)]
    pub json: Option<serde_json::Value>,
    pub b64: Option<String>,
    pub bytes: Option<String>,
}

/// One sub-response.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubResponse {
    pub code: u16,
    pub headers: BTreeMap<String, String>,
    /// Parsed JSON for `application/json` responses, base64 otherwise.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

fn sub_request(sub: SubRequest, peer: Option<std::net::IpAddr>) -> ApiResult<Request> {
    let method = Method::parse(&sub.method)
        .ok_or_else(|| ApiError::bad_request("Invalid sub-request method"))?;
    if !sub.path.starts_with('/') {
        return Err(ApiError::bad_request("Sub-request path must start with /"));
    }
    let headers = sub.headers.unwrap_or_default();
    let mut req = Request::embedded(method, &sub.path, headers, Vec::new(), peer)
        .ok_or_else(|| ApiError::bad_request("Sub-request path is not valid UTF-8"))?;
    // A batch inside a batch would recurse without bound (and exhaust the worker's stack).
    if matches!(req.path.as_str(), "/batch" | "/sequence") {
        return Err(ApiError::bad_request(
            "Nested batch requests are not allowed",
        ));
    }
    let bodies = [sub.json.is_some(), sub.b64.is_some(), sub.bytes.is_some()];
    let given = bodies.iter().filter(|b| **b).count();
    let (body, content_type) = match method {
        Method::Get | Method::Delete if given > 0 => {
            return Err(ApiError::bad_request(
                "GET/DELETE sub-requests take no body",
            ))
        }
        Method::Get | Method::Delete => return Ok(req),
        _ if given != 1 => {
            return Err(ApiError::bad_request(
                "POST/PUT sub-requests need exactly one of json, b64, bytes",
            ))
        }
        _ => match (sub.json, sub.b64, sub.bytes) {
            (Some(j), _, _) => (
                serde_json::to_vec(&j).map_err(|e| ApiError::Internal(e.into()))?,
                JSON,
            ),
            (_, Some(b), _) => (
                b64_decode(&b).ok_or_else(|| ApiError::bad_request("Invalid b64 body"))?,
                OCTET,
            ),
            (_, _, Some(s)) => (s.into_bytes(), OCTET),
            _ => return Err(ApiError::bad_request("Missing sub-request body")),
        },
    };
    if req.header("content-type").is_none() {
        req.headers
            .push(("content-type".into(), content_type.into()));
    }
    req.body = Body::Memory(body.into());
    Ok(req)
}

/// Turns a response into a batch element (also used for onion replies).
pub async fn sub_response(resp: Response) -> ApiResult<SubResponse> {
    let (code, headers, body) = resp
        .into_embedded()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let is_json = headers.get("content-type").map(String::as_str) == Some(JSON);
    let body = match is_json {
        true => serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        false => serde_json::Value::String(b64_encode(&body)),
    };
    Ok(SubResponse {
        code,
        headers,
        body,
    })
}

/// Run several requests as the same caller. `/sequence` stops after the first non-2xx.
#[utoipa::path(post, path = "/batch", tag = "general", request_body = [SubRequest],
    responses((status = 200, body = [SubResponse]), (status = 400, description = "Invalid sub-request")))]
pub async fn batch(ctx: &Ctx<'_>, stop_on_error: bool) -> ApiResult<Response> {
    let subs: Vec<SubRequest> = ctx.json()?;
    let max = ctx.st.config.max_batch_requests;
    if subs.len() > max {
        return Err(ApiError::bad_request(format!(
            "Too many sub-requests: {} (at most {max} per request)",
            subs.len()
        )));
    }
    let reqs = subs
        .into_iter()
        .map(|s| sub_request(s, ctx.req.peer))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut out = Vec::with_capacity(reqs.len());
    for req in reqs {
        let resp = dispatch(ctx.st, req, AuthMode::Inherited(ctx.caller())).await;
        let sub = sub_response(resp).await?;
        let failed = !(200..300).contains(&sub.code);
        out.push(sub);
        if stop_on_error && failed {
            break;
        }
    }
    Ok(Response::json(200, &out))
}

/// Same as `/batch`, but stops after the first response outside 200–299.
#[utoipa::path(post, path = "/sequence", tag = "general", request_body = [SubRequest],
    responses((status = 200, body = [SubResponse])))]
pub async fn sequence_doc() {}

/// How long a health check waits for the database.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Health for load balancers, container runtimes and monitoring: 200 when the database answers
/// within 2 s, 503 when it does not.
#[utoipa::path(get, path = "/healthz", tag = "general",
    responses((status = 200, description = "`{\"status\": \"ok\", \"database\": \"sqlite\"|\"postgres\"}`"),
        (status = 503, description = "The database does not answer")))]
pub async fn health(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let db = &ctx.st.db;
    match tokio::time::timeout(HEALTH_TIMEOUT, db.ping()).await {
        Ok(Ok(())) => Ok(Response::json(
            200,
            &serde_json::json!({"status": "ok", "database": db.engine()}),
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database error");
            Err(ApiError::Unavailable)
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer within 2 s");
            Err(ApiError::Unavailable)
        }
    }
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "general",
    responses((status = 200, description = "OpenAPI 3.1 document")))]
pub fn openapi_json() -> ApiResult<Response> {
    let doc = ApiDoc::openapi()
        .to_pretty_json()
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Response::new(200, JSON, doc))
}

/// A self-contained HTML page listing every endpoint (no external assets).
#[utoipa::path(get, path = "/docs", tag = "general",
    responses((status = 200, description = "HTML API reference")))]
pub fn docs() -> ApiResult<Response> {
    let doc = ApiDoc::openapi();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>SOGS API</title>\
         <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .3em}\
         td{padding:.3em .6em;vertical-align:top}</style></head><body><h1>Session Community server API</h1>\
         <p>Machine-readable document: <a href=\"/openapi.json\">/openapi.json</a></p><table>",
    );
    for (path, item) in doc.paths.paths.iter() {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ];
        for (m, op) in ops {
            if let Some(op) = op {
                let summary = op.summary.as_deref().unwrap_or("");
                html.push_str(&format!(
                    "<tr><td><b>{m}</b></td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(path),
                    esc(summary)
                ));
            }
        }
    }
    html.push_str("</table></body></html>");
    Ok(Response::new(200, "text/html; charset=utf-8", html))
}
