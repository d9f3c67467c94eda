use std::time::Duration;

use super::OWNER;

use axum::{body::to_bytes, response::Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::storage::{
    KeyRing, LinkError, Storage, StorageConfig, content_disposition, forbidden, serve_bytes,
    sha256_hex, too_many_requests,
};

const DOC: &[u8] = b"0123456789abcdefghij"; // 20 bytes

fn req(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    h
}

fn serve(headers: &HeaderMap) -> Response {
    serve_bytes(
        DOC.to_vec(),
        "certificat.pdf",
        "application/pdf",
        &sha256_hex(DOC),
        headers,
    )
}

fn hdr(res: &Response, name: header::HeaderName) -> Option<&str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn body(res: Response) -> Vec<u8> {
    to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_plain_request_gets_the_whole_document_with_its_headers() {
    let res = serve(&HeaderMap::new());
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(hdr(&res, header::CONTENT_TYPE), Some("application/pdf"));
    assert_eq!(hdr(&res, header::CONTENT_LENGTH), Some("20"));
    assert_eq!(
        hdr(&res, header::ETAG),
        Some(format!("\"{}\"", sha256_hex(DOC)).as_str())
    );
    assert_eq!(hdr(&res, header::ACCEPT_RANGES), Some("bytes"));
    assert_eq!(
        hdr(&res, header::CONTENT_DISPOSITION),
        Some("attachment; filename=\"certificat.pdf\"; filename*=UTF-8''certificat.pdf")
    );
    assert_eq!(hdr(&res, header::CACHE_CONTROL), Some("private, no-store"));
    assert_eq!(hdr(&res, header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
    assert_eq!(hdr(&res, header::CONTENT_RANGE), None);
    assert_eq!(body(res).await, DOC);
}

#[tokio::test]
async fn single_ranges_answer_206_with_content_range() {
    for (range, content_range, expected) in [
        ("bytes=0-4", "bytes 0-4/20", &DOC[0..5]),
        ("bytes=5-", "bytes 5-19/20", &DOC[5..]),
        ("bytes=-3", "bytes 17-19/20", &DOC[17..]),
        ("bytes=15-99", "bytes 15-19/20", &DOC[15..]),
        ("bytes=-50", "bytes 0-19/20", DOC),
        ("bytes=19-19", "bytes 19-19/20", &DOC[19..]),
        ("BYTES = 2-3", "bytes 2-3/20", &DOC[2..4]),
    ] {
        let res = serve(&req(&[(header::RANGE, range)]));
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            hdr(&res, header::CONTENT_RANGE),
            Some(content_range),
            "{range}"
        );
        assert_eq!(
            hdr(&res, header::CONTENT_LENGTH),
            Some(expected.len().to_string().as_str())
        );
        assert!(hdr(&res, header::CONTENT_DISPOSITION).is_some());
        assert_eq!(body(res).await, expected, "{range}");
    }
}

#[tokio::test]
async fn unsatisfiable_ranges_answer_416() {
    for range in [
        "bytes=20-",
        "bytes=25-30",
        "bytes=-0",
        "bytes=99999999999999999999999-",
    ] {
        let res = serve(&req(&[(header::RANGE, range)]));
        assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(hdr(&res, header::CONTENT_RANGE), Some("bytes */20"));
        assert!(body(res).await.is_empty());
    }
    let empty = serve_bytes(
        Vec::new(),
        "e.txt",
        "text/plain",
        &sha256_hex(b""),
        &req(&[(header::RANGE, "bytes=0-")]),
    );
    assert_eq!(empty.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(hdr(&empty, header::CONTENT_RANGE), Some("bytes */0"));
}

#[tokio::test]
async fn several_or_malformed_ranges_serve_the_whole_document() {
    for range in [
        "bytes=0-1,5-6",
        "bytes=5-2",
        "items=0-1",
        "bytes=abc",
        "bytes=+1-2",
        "bytes",
        "bytes=-",
    ] {
        let res = serve(&req(&[(header::RANGE, range)]));
        assert_eq!(res.status(), StatusCode::OK, "{range}");
        assert_eq!(hdr(&res, header::CONTENT_LENGTH), Some("20"));
        assert_eq!(body(res).await, DOC);
    }
}

#[tokio::test]
async fn if_none_match_answers_304_and_if_range_guards_ranges() {
    let etag = format!("\"{}\"", sha256_hex(DOC));
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        "*".into(),
        format!("\"x\", {etag}"),
    ] {
        let res = serve(&req(&[
            (header::IF_NONE_MATCH, &inm),
            (header::RANGE, "bytes=0-1"),
        ]));
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{inm}");
        assert_eq!(hdr(&res, header::ETAG), Some(etag.as_str()));
        assert!(body(res).await.is_empty());
    }
    assert_eq!(
        serve(&req(&[(header::IF_NONE_MATCH, "\"other\"")])).status(),
        StatusCode::OK
    );
    let matching = serve(&req(&[
        (header::IF_RANGE, &etag),
        (header::RANGE, "bytes=0-1"),
    ]));
    assert_eq!(matching.status(), StatusCode::PARTIAL_CONTENT);
    let stale = serve(&req(&[
        (header::IF_RANGE, "\"old\""),
        (header::RANGE, "bytes=0-1"),
    ]));
    assert_eq!(stale.status(), StatusCode::OK);
    let dated = serve(&req(&[
        (header::IF_RANGE, "Wed, 21 Oct 2015 07:28:00 GMT"),
        (header::RANGE, "bytes=0-1"),
    ]));
    assert_eq!(dated.status(), StatusCode::OK);
}

#[test]
fn content_disposition_encodes_non_ascii_names() {
    assert_eq!(
        content_disposition("Attestation d’assurance – Élodie Mbarga.pdf"),
        "attachment; filename=\"Attestation d_assurance _ _lodie Mbarga.pdf\"; \
         filename*=UTF-8''Attestation%20d%E2%80%99assurance%20%E2%80%93%20%C3%89lodie%20Mbarga.pdf"
    );
    assert_eq!(
        content_disposition("a\"b\\c/d\r\ne%.pdf"),
        "attachment; filename=\"a_b_c_d__e_.pdf\"; filename*=UTF-8''a%22b_c_d__e%25.pdf"
    );
    assert_eq!(
        content_disposition("  "),
        "attachment; filename=\"document\"; filename*=UTF-8''document"
    );
    let res = serve_bytes(
        DOC.to_vec(),
        "reçu 2026.pdf",
        "application/pdf",
        &sha256_hex(DOC),
        &HeaderMap::new(),
    );
    assert!(
        hdr(&res, header::CONTENT_DISPOSITION)
            .unwrap()
            .ends_with("filename*=UTF-8''re%C3%A7u%202026.pdf")
    );
}

#[tokio::test]
async fn refusals_carry_their_status() {
    assert_eq!(
        forbidden(LinkError::Expired).status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        forbidden(LinkError::Invalid).status(),
        StatusCode::FORBIDDEN
    );
    let limited = too_many_requests(Duration::from_millis(1500));
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(hdr(&limited, header::RETRY_AFTER), Some("2"));
    assert_eq!(
        hdr(&too_many_requests(Duration::ZERO), header::RETRY_AFTER),
        Some("1")
    );
}

#[tokio::test]
async fn downloads_stream_plain_objects_and_decode_the_others() {
    let doc: Vec<u8> = (0..100_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    for (compress, encryption) in [(false, None), (true, Some(KeyRing::generate("k1")))] {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::local(StorageConfig {
            root: dir.path().into(),
            compress,
            encryption,
            fsync: false,
        })
        .unwrap();
        let stored = s.put(OWNER, doc.clone()).await.unwrap().to_ref();
        let get = |h: HeaderMap| {
            let (s, stored) = (s.clone(), stored.clone());
            async move {
                s.download(&stored, "d.bin", "application/octet-stream", &h)
                    .await
                    .unwrap()
            }
        };
        let full = get(HeaderMap::new()).await;
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(
            hdr(&full, header::CONTENT_LENGTH),
            Some(doc.len().to_string().as_str())
        );
        assert_eq!(body(full).await, doc);
        let part = get(req(&[(header::RANGE, "bytes=1000-1999")])).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            hdr(&part, header::CONTENT_RANGE),
            Some(format!("bytes 1000-1999/{}", doc.len()).as_str())
        );
        assert_eq!(body(part).await, &doc[1000..2000]);
        let far = get(req(&[(header::RANGE, "bytes=999999999-")])).await;
        assert_eq!(far.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        let etag = format!("\"{}\"", stored.sha256);
        assert_eq!(
            get(req(&[(header::IF_NONE_MATCH, &etag)])).await.status(),
            StatusCode::NOT_MODIFIED
        );
    }
}
