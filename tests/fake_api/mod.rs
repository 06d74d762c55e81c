//! A small stateful in-memory Kubernetes API server, as a tower `Service` behind
//! `kube::Client::new`, implementing exactly the verbs the controller uses:
//!
//! - list (in pages with `limit` and `continue`) and watch (from a resourceVersion,
//!   replaying what happened since) of any namespaced or cluster-wide collection, both
//!   honouring `labelSelector` (a watch sees an object leaving the selection as DELETED and
//!   one entering it as ADDED);
//! - get; create (POST, 409 AlreadyExists); replace (PUT, 409 on a stale resourceVersion);
//! - server-side apply on an object (creates it; `generation` bumps on spec changes only)
//!   and on its `status` subresource (replaces the status; no generation bump);
//! - JSON patch (with `test` ops: a failed test is 422) and merge patch (refused with 409 when
//!   it carries a stale resourceVersion; recorded as its field manager's Update);
//! - delete honouring finalizers: `deletionTimestamp` is set (and generation bumped, as the
//!   API server does for custom resources) until the last finalizer goes;
//! - a write that changes nothing keeps the resourceVersion and emits no watch event.
//!
//! Simplifications, on purpose: an apply replaces the fields it carries instead of merging per
//! manager, except that a status apply keeps the top-level status fields another manager set
//! and this apply leaves out (as on-call's `status.requests` survive the controller's apply); `managedFields` records each manager's
//! last apply, for size, not for conflicts), no field selectors, and the whole history is
//! kept so a watch is never "too old" (410).

// Each test binary uses a different subset of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{Value, json};
use tokio::sync::broadcast;

#[derive(Clone, Debug)]
struct Change {
    rv: u64,
    plural: String,
    namespace: String,
    kind: &'static str,
    object: Value,
    /// The object before a MODIFIED change: a label-selected watch sees an object that
    /// stops matching as DELETED and one that starts matching as ADDED, as an API server does.
    before: Option<Value>,
}

type Key = (String, String, String);

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: Vec<Change>,
    requests: Vec<String>,
    faults: Vec<(Method, String, u16)>,
}

/// The fake API server; clones share state.
#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    changes: broadcast::Sender<Change>,
}

pub type FakeBody = BoxBody<Bytes, Infallible>;

impl Default for FakeApi {
    fn default() -> Self {
        Self::new()
    }
}

struct Route {
    plural: String,
    namespace: Option<String>,
    name: Option<String>,
    status: bool,
}

fn route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    // /apis/<group>/<version>/… or /api/v1/…
    let rest = match parts.first() {
        Some(&"apis") => parts.get(3..)?,
        Some(&"api") => parts.get(2..)?,
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        _ => (None, rest),
    };
    Some(Route {
        plural: (*rest.first()?).to_owned(),
        namespace,
        name: rest.get(1).map(|s| (*s).to_owned()),
        status: rest.get(2) == Some(&"status"),
    })
}

fn query(uri: &http::Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn respond(code: StatusCode, body: Value) -> Response<FakeBody> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap_or_default()
}

fn status(code: u16, reason: &str, message: &str) -> Response<FakeBody> {
    respond(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl FakeApi {
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            changes: broadcast::channel(1 << 16).0,
        }
    }

    /// A kube client talking to this server.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.clone(), "default")
    }

    /// The stored object, as JSON.
    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let s = self.state.lock().unwrap();
        s.objects
            .get(&(plural.to_owned(), namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Every stored object of a kind.
    pub fn all(&self, plural: &str) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.objects
            .iter()
            .filter(|((p, _, _), _)| p == plural)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// "METHOD path" of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The next request with this method whose path ends with `suffix` fails with `code`.
    pub fn fail_next(&self, method: Method, suffix: &str, code: u16) {
        let mut s = self.state.lock().unwrap();
        s.faults.push((method, suffix.to_owned(), code));
    }

    /// Stores an object directly (as if another client created it).
    pub fn insert(&self, plural: &str, object: Value) -> Value {
        let mut s = self.state.lock().unwrap();
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        self.create(&mut s, plural, &ns, object).1
    }

    /// Serves this API over HTTP on a free localhost port (for a real kube client or the
    /// controller binary); returns the port.
    pub async fn serve(&self) -> u16 {
        use tower::Service;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let api = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = api.clone();
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let mut api = api.clone();
                            async move {
                                let (parts, body) = req.into_parts();
                                let bytes = body.collect().await?.to_bytes();
                                let req =
                                    Request::from_parts(parts, kube::client::Body::from(bytes));
                                Ok::<_, hyper::Error>(
                                    api.call(req).await.unwrap_or_else(|e| match e {}),
                                )
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        port
    }

    async fn handle(self, req: Request<kube::client::Body>) -> Response<FakeBody> {
        let method = req.method().clone();
        let uri = req.uri().clone();
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        // `Accept: application/json;as=PartialObjectMetadata…`: lists and watches answer
        // with the objects' metadata only, as an API server does.
        let meta_only = req
            .headers()
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
        let body = match req.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return status(400, "BadRequest", &e.to_string()),
        };
        let Some(r) = route(uri.path()) else {
            return status(404, "NotFound", "no such path");
        };
        let q = query(&uri);
        {
            let mut s = self.state.lock().unwrap();
            s.requests.push(format!("{method} {}", uri.path()));
            if let Some(i) = s
                .faults
                .iter()
                .position(|(m, suffix, _)| *m == method && uri.path().ends_with(suffix.as_str()))
            {
                let (_, _, code) = s.faults.remove(i);
                return status(code, "Injected", "injected failure");
            }
        }
        let body: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return status(400, "BadRequest", &e.to_string()),
            }
        };
        match (&method, &r.name) {
            (&Method::GET, None) if q.get("watch").is_some_and(|w| w == "true" || w == "1") => {
                self.watch(&r, &q, meta_only)
            }
            (&Method::GET, None) => self.list(&r, &q, meta_only),
            (&Method::GET, Some(name)) => match self.get(&r.plural, ns(&r), name) {
                Some(o) => respond(StatusCode::OK, o),
                None => status(
                    404,
                    "NotFound",
                    &format!("{} \"{name}\" not found", r.plural),
                ),
            },
            (&Method::POST, None) => {
                let mut s = self.state.lock().unwrap();
                let key = (r.plural.clone(), ns(&r).to_owned(), name_of(&body));
                if s.objects.contains_key(&key) {
                    return status(
                        409,
                        "AlreadyExists",
                        &format!("\"{}\" already exists", key.2),
                    );
                }
                let (_, o) = self.create(&mut s, &r.plural, ns(&r), body);
                respond(StatusCode::CREATED, o)
            }
            (&Method::PUT, Some(name)) => self.write(&r, name, |current| {
                let current = current.ok_or((404, "NotFound"))?;
                precondition(&body, current)?;
                let mut next = body.clone();
                if r.plural != "leases" && r.plural != "events" {
                    next["status"] = current["status"].clone();
                }
                Ok(next)
            }),
            (&Method::PATCH, Some(name)) => {
                let manager = q.get("fieldManager").cloned().unwrap_or_default();
                self.patch(&r, name, &content_type, &manager, body)
            }
            (&Method::DELETE, Some(name)) => self.delete(&r, name),
            _ => status(405, "MethodNotAllowed", "verb not supported by the fake"),
        }
    }

    fn patch(
        &self,
        r: &Route,
        name: &str,
        content_type: &str,
        manager: &str,
        body: Value,
    ) -> Response<FakeBody> {
        let status_only = r.status;
        if content_type.starts_with("application/apply-patch") {
            let creatable = !status_only;
            let key = (r.plural.clone(), ns(r).to_owned(), name.to_owned());
            let exists = self.state.lock().unwrap().objects.contains_key(&key);
            if !exists && creatable {
                let mut s = self.state.lock().unwrap();
                let mut o = body.clone();
                if let Some(m) = o.as_object_mut() {
                    m.remove("status");
                }
                o["metadata"]["name"] = json!(name);
                record_manager(&mut o, manager, None, &body);
                let (_, o) = self.create(&mut s, &r.plural, ns(r), o);
                return respond(StatusCode::CREATED, o);
            }
            return self.write(r, name, |current| {
                let current = current.ok_or((404, "NotFound"))?;
                precondition(&body, current)?;
                let mut next = current.clone();
                record_manager(&mut next, manager, status_only.then_some("status"), &body);
                if status_only {
                    next["status"] = applied_status(current, manager, &body["status"]);
                } else {
                    for (k, v) in body.as_object().into_iter().flatten() {
                        match k.as_str() {
                            "metadata" | "status" => {}
                            _ => next[k] = v.clone(),
                        }
                    }
                    for field in ["labels", "annotations"] {
                        if let Some(m) = body["metadata"][field].as_object() {
                            for (k, v) in m {
                                next["metadata"][field][k] = v.clone();
                            }
                        }
                    }
                }
                Ok(next)
            });
        }
        let json_patch = content_type.starts_with("application/json-patch");
        self.write(r, name, |current| {
            let current = current.ok_or((404, "NotFound"))?;
            let mut next = current.clone();
            if json_patch {
                let p: json_patch::Patch =
                    serde_json::from_value(body.clone()).map_err(|_| (400, "BadRequest"))?;
                json_patch::patch(&mut next, &p).map_err(|_| (422, "Invalid"))?;
            } else {
                // A merge patch carrying a resourceVersion is refused if it is stale, and
                // its fields are recorded under its manager as an Update.
                precondition(&body, current)?;
                let mut fields = body.clone();
                if let Some(m) = fields["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                    if m.is_empty() {
                        fields.as_object_mut().map(|o| o.remove("metadata"));
                    }
                }
                json_patch::merge(&mut next, &body);
                record(
                    &mut next,
                    manager,
                    "Update",
                    status_only.then_some("status"),
                    &fields,
                );
            }
            Ok(next)
        })
    }

    fn delete(&self, r: &Route, name: &str) -> Response<FakeBody> {
        self.write(r, name, |current| {
            let mut next = current.ok_or((404, "NotFound"))?.clone();
            if next["metadata"]["deletionTimestamp"].is_null() {
                next["metadata"]["deletionTimestamp"] = json!(now());
            }
            Ok(next)
        })
    }

    fn create(&self, s: &mut State, plural: &str, namespace: &str, mut o: Value) -> (u64, Value) {
        s.rv += 1;
        let rv = s.rv;
        let m = &mut o["metadata"];
        m["resourceVersion"] = json!(rv.to_string());
        m["uid"] = json!(format!("00000000-0000-4000-8000-{rv:012}"));
        m["creationTimestamp"] = json!(now());
        m["generation"] = json!(1);
        if !namespace.is_empty() {
            m["namespace"] = json!(namespace);
        }
        let name = name_of(&o);
        s.objects
            .insert((plural.to_owned(), namespace.to_owned(), name), o.clone());
        self.emit(s, plural, namespace, "ADDED", &o, None);
        (rv, o)
    }

    /// Read-modify-write of one object under the lock; bookkeeping of resourceVersion,
    /// generation, finalizer-gated deletion and watch events.
    fn write(
        &self,
        r: &Route,
        name: &str,
        change: impl FnOnce(Option<&Value>) -> Result<Value, (u16, &'static str)>,
    ) -> Response<FakeBody> {
        let mut s = self.state.lock().unwrap();
        let key = (r.plural.clone(), ns(r).to_owned(), name.to_owned());
        let current = s.objects.get(&key).cloned();
        let mut next = match change(current.as_ref()) {
            Ok(v) => v,
            Err((code, reason)) => return status(code, reason, &format!("{name}: {reason}")),
        };
        let current = current.unwrap_or(Value::Null);
        // Server-managed fields are the server's.
        for f in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "namespace",
            "name",
        ] {
            next["metadata"][f] = current["metadata"][f].clone();
        }
        if current["metadata"]["deletionTimestamp"].is_string() {
            next["metadata"]["deletionTimestamp"] =
                current["metadata"]["deletionTimestamp"].clone();
        }
        let mut compare = next.clone();
        compare["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        if compare == current {
            return respond(StatusCode::OK, current);
        }
        s.rv += 1;
        next["metadata"]["resourceVersion"] = json!(s.rv.to_string());
        let g = current["metadata"]["generation"].as_i64().unwrap_or(1);
        let deleting_now = next["metadata"]["deletionTimestamp"].is_string()
            && !current["metadata"]["deletionTimestamp"].is_string();
        if next.get("spec") != current.get("spec") || deleting_now {
            next["metadata"]["generation"] = json!(g + 1);
        }
        let finalizers = next["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if next["metadata"]["deletionTimestamp"].is_string() && !finalizers {
            s.objects.remove(&key);
            self.emit(&mut s, &r.plural, ns(r), "DELETED", &next, None);
            return respond(StatusCode::OK, next);
        }
        s.objects.insert(key, next.clone());
        self.emit(&mut s, &r.plural, ns(r), "MODIFIED", &next, Some(current));
        respond(StatusCode::OK, next)
    }

    fn emit(
        &self,
        s: &mut State,
        plural: &str,
        namespace: &str,
        kind: &'static str,
        o: &Value,
        before: Option<Value>,
    ) {
        let change = Change {
            rv: s.rv,
            plural: plural.to_owned(),
            namespace: namespace.to_owned(),
            kind,
            object: o.clone(),
            before,
        };
        s.history.push(change.clone());
        let _ = self.changes.send(change);
    }

    /// A list, in pages when asked (`limit`, and `continue` carrying the offset of the next
    /// page), as an API server pages with its continue tokens.
    fn list(&self, r: &Route, q: &BTreeMap<String, String>, meta_only: bool) -> Response<FakeBody> {
        let selector = Selector::parse(q.get("labelSelector").map(String::as_str));
        let limit: usize = q
            .get("limit")
            .and_then(|v| v.parse().ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let offset: usize = q.get("continue").and_then(|v| v.parse().ok()).unwrap_or(0);
        let s = self.state.lock().unwrap();
        let mut matching = s.objects.iter().filter(|((p, n, _), o)| {
            *p == r.plural && r.namespace.as_ref().is_none_or(|ns| ns == n) && selector.matches(o)
        });
        let items: Vec<Value> = matching
            .by_ref()
            .skip(offset)
            .take(limit)
            .map(|(_, v)| shown(v, meta_only))
            .collect();
        let mut metadata = json!({"resourceVersion": s.rv.to_string()});
        if matching.next().is_some() {
            metadata["continue"] = json!((offset + items.len()).to_string());
        }
        respond(
            StatusCode::OK,
            json!({"kind": "List", "apiVersion": "v1", "metadata": metadata, "items": items}),
        )
    }

    fn watch(
        &self,
        r: &Route,
        q: &BTreeMap<String, String>,
        meta_only: bool,
    ) -> Response<FakeBody> {
        let since: u64 = q
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let timeout: u64 = q
            .get("timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(290);
        let plural = r.plural.clone();
        let namespace = r.namespace.clone();
        let selector = Selector::parse(q.get("labelSelector").map(String::as_str));
        // The change as this watch sees it (None: not for this watch).
        let matches = move |c: &Change| -> Option<Change> {
            if c.plural != plural || namespace.as_ref().is_some_and(|ns| *ns != c.namespace) {
                return None;
            }
            let now = selector.matches(&c.object);
            let was = c.before.as_ref().map(|b| selector.matches(b));
            let kind = match (c.kind, was, now) {
                ("MODIFIED", Some(true), false) => "DELETED",
                ("MODIFIED", Some(false), true) => "ADDED",
                (_, _, true) => c.kind,
                _ => return None,
            };
            Some(Change { kind, ..c.clone() })
        };
        let (past, rx) = {
            let s = self.state.lock().unwrap();
            let past: Vec<Change> = s
                .history
                .iter()
                .filter(|c| c.rv > since)
                .filter_map(&matches)
                .collect();
            (past, self.changes.subscribe())
        };
        let line = move |c: Change| {
            let mut l = json!({"type": c.kind, "object": shown(&c.object, meta_only)}).to_string();
            l.push('\n');
            Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from(l)))
        };
        let live = futures::stream::unfold((rx, matches), |(mut rx, matches)| async move {
            loop {
                match rx.recv().await {
                    Ok(c) => {
                        if let Some(c) = matches(&c) {
                            return Some((c, (rx, matches)));
                        }
                    }
                    // Lagged or closed: end the watch; the client re-watches from its
                    // last resourceVersion and the history fills the gap.
                    Err(_) => return None,
                }
            }
        });
        use futures::StreamExt;
        let stream = futures::stream::iter(past)
            .chain(live)
            .take_until(tokio::time::sleep(Duration::from_secs(timeout)))
            .map(line);
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(BodyExt::boxed(StreamBody::new(stream)))
            .unwrap_or_default()
    }
}

/// A label selector as `labelSelector` spells it: `k=v`, `k==v`, `k!=v`, `k` (exists),
/// `!k` (absent), comma-separated, all of which must hold.
struct Selector(Vec<(String, Option<String>, bool)>);

impl Selector {
    fn parse(raw: Option<&str>) -> Self {
        let raw = raw.map(percent_decode).unwrap_or_default();
        let terms = raw
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                if let Some((k, v)) = t.split_once("!=") {
                    (k.to_owned(), Some(v.to_owned()), false)
                } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                    (k.to_owned(), Some(v.to_owned()), true)
                } else if let Some(k) = t.strip_prefix('!') {
                    (k.to_owned(), None, false)
                } else {
                    (t.to_owned(), None, true)
                }
            })
            .collect();
        Self(terms)
    }

    fn matches(&self, o: &Value) -> bool {
        let labels = &o["metadata"]["labels"];
        self.0.iter().all(|(k, v, positive)| {
            let have = labels[k.as_str()].as_str();
            match (v, positive) {
                (Some(v), true) => have == Some(v.as_str()),
                (Some(v), false) => have != Some(v.as_str()),
                (None, true) => have.is_some(),
                (None, false) => have.is_none(),
            }
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An object as a list or watch shows it: whole, or its PartialObjectMetadata.
fn shown(o: &Value, meta_only: bool) -> Value {
    if meta_only {
        json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
               "metadata": o["metadata"].clone()})
    } else {
        o.clone()
    }
}

fn ns(r: &Route) -> &str {
    r.namespace.as_deref().unwrap_or("")
}

fn name_of(o: &Value) -> String {
    o["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `fieldsV1` of an applied body: `f:<key>` per object member (`.` on one with children),
/// `k:` entries per list item; what server-side apply records, near enough for its size.
fn fields_v1(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind"))
                .map(|(k, child)| {
                    let mut f = fields_v1(child);
                    if child.is_object() || child.is_array() {
                        f["."] = json!({});
                    }
                    (format!("f:{k}"), f)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Object(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("k:{{\"index\":{i}}}"), fields_v1(item)))
                .collect(),
        ),
        _ => json!({}),
    }
}

/// Records `manager`'s apply in `metadata.managedFields` (one entry per manager and
/// subresource, replaced on every apply), as an API server does.
fn record_manager(o: &mut Value, manager: &str, subresource: Option<&str>, applied: &Value) {
    record(o, manager, "Apply", subresource, applied)
}

/// Records `manager`'s `operation` (Apply or Update) of the fields in `applied`.
fn record(
    o: &mut Value,
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
    applied: &Value,
) {
    if manager.is_empty() {
        return;
    }
    let fields = fields_v1(applied);
    let same = |e: &Value| e["manager"] == manager && e["subresource"].as_str() == subresource;
    let unchanged = o["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|es| es.iter().any(|e| same(e) && e["fieldsV1"] == fields));
    if unchanged {
        // An apply that changes nothing changes nothing, not even its timestamp.
        return;
    }
    let mut entry = json!({"manager": manager, "operation": operation,
        "apiVersion": applied["apiVersion"].clone(), "time": now(),
        "fieldsType": "FieldsV1", "fieldsV1": fields});
    if let Some(s) = subresource {
        entry["subresource"] = json!(s);
    }
    let mut entries: Vec<Value> = o["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !(e["manager"] == manager && e["subresource"].as_str() == subresource))
        .collect();
    entries.push(entry);
    o["metadata"]["managedFields"] = Value::Array(entries);
}

/// The status after `manager` applies `applied`: what it carries, plus each top-level field
/// of the current status that another manager wrote through the status subresource and this
/// apply leaves out (server-side apply removes only fields the applier owned).
fn applied_status(current: &Value, manager: &str, applied: &Value) -> Value {
    let mut next = applied.clone();
    let theirs: Vec<String> = current["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["manager"] != manager && e["subresource"] == "status")
        .filter_map(|e| e["fieldsV1"]["f:status"].as_object())
        .flat_map(|f| {
            f.keys()
                .filter_map(|k| k.strip_prefix("f:").map(str::to_owned))
        })
        .collect();
    if let (Some(out), Some(cur)) = (next.as_object_mut(), current["status"].as_object()) {
        for k in theirs {
            if let (false, Some(v)) = (out.contains_key(&k), cur.get(&k)) {
                out.insert(k, v.clone());
            }
        }
    }
    next
}

/// An update carrying a resourceVersion must carry the current one.
fn precondition(body: &Value, current: &Value) -> Result<(), (u16, &'static str)> {
    match body["metadata"]["resourceVersion"].as_str() {
        Some(rv) if Some(rv) != current["metadata"]["resourceVersion"].as_str() => {
            Err((409, "Conflict"))
        }
        _ => Ok(()),
    }
}

impl tower::Service<Request<kube::client::Body>> for FakeApi {
    type Response = Response<FakeBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<kube::client::Body>) -> Self::Future {
        let me = self.clone();
        Box::pin(async move { Ok(me.handle(req).await) })
    }
}
