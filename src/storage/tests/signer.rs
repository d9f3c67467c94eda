use crate::storage::{KeyRing, LinkError, LinkParams, MAX_LINK_TTL_SECS, UrlSigner};

const NOW: i64 = 1_800_000_000;

fn signer(kid: &str) -> (UrlSigner, KeyRing) {
    let ring = KeyRing::generate(kid);
    (UrlSigner::new(ring.clone()).unwrap(), ring)
}

/// `(path, exp, kid, sig)` of a link.
fn parts(url: &str) -> (String, i64, String, String) {
    let (path, query) = url.split_once('?').unwrap();
    let mut exp = 0;
    let (mut kid, mut sig) = (String::new(), String::new());
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        match k {
            "exp" => exp = v.parse().unwrap(),
            "kid" => kid = v.to_string(),
            "sig" => sig = v.to_string(),
            other => panic!("unexpected parameter {other}"),
        }
    }
    (path.to_string(), exp, kid, sig)
}

#[test]
fn a_fresh_link_verifies() {
    let (s, _) = signer("s1");
    let url = s.url_at(None, "doc_123", 300, NOW);
    let (path, exp, kid, sig) = parts(&url);
    assert_eq!(path, "/files/doc_123");
    assert_eq!((exp, kid.as_str()), (NOW + 300, "s1"));
    assert_eq!(sig.len(), 64);
    assert_eq!(s.verify("doc_123", exp, &kid, &sig, NOW), Ok(()));
    assert_eq!(
        s.verify("doc_123", exp, &kid, &sig.to_uppercase(), NOW + 299),
        Ok(())
    );
}

#[test]
fn tampered_links_are_invalid() {
    let (s, _) = signer("s1");
    let (_, exp, kid, sig) = parts(&s.url_at(None, "doc_123", 300, NOW));
    let mut flipped = sig.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let invalid = Err(LinkError::Invalid);
    assert_eq!(s.verify("doc_123", exp, &kid, &flipped, NOW), invalid);
    assert_eq!(
        s.verify("doc_123", exp + 3600, &kid, &sig, NOW),
        invalid,
        "extended exp"
    );
    assert_eq!(
        s.verify("doc_124", exp, &kid, &sig, NOW),
        invalid,
        "other document"
    );
    assert_eq!(
        s.verify("doc_123", exp, "s2", &sig, NOW),
        invalid,
        "unknown kid"
    );
    assert_eq!(
        s.verify("doc_123", exp, &kid, &sig[..62], NOW),
        invalid,
        "short sig"
    );
    assert_eq!(
        s.verify("doc_123", exp, &kid, "zz", NOW),
        invalid,
        "not hex"
    );
    assert_eq!(
        s.verify("doc_123", exp, &kid, "", NOW),
        invalid,
        "empty sig"
    );
    let (other, _) = signer("s1");
    assert_eq!(
        other.verify("doc_123", exp, &kid, &sig, NOW),
        invalid,
        "another secret, same kid"
    );
}

#[test]
fn a_past_expiry_is_expired_but_only_when_authentic() {
    let (s, _) = signer("s1");
    let (_, exp, kid, sig) = parts(&s.url_at(None, "doc_123", 60, NOW));
    assert_eq!(
        s.verify("doc_123", exp, &kid, &sig, exp),
        Err(LinkError::Expired)
    );
    assert_eq!(
        s.verify("doc_123", exp, &kid, &sig, exp + 1),
        Err(LinkError::Expired)
    );
    assert_eq!(
        s.verify("doc_124", exp, &kid, &sig, exp + 1),
        Err(LinkError::Invalid)
    );
}

#[test]
fn old_key_ids_verify_until_removed() {
    let (old, k1) = signer("s1");
    let (_, exp, kid, sig) = parts(&old.url_at(None, "doc_1", 600, NOW));
    let k2 = KeyRing::generate("s2");
    let both = KeyRing::parse(&format!("{},{}", k2.to_setting(), k1.to_setting())).unwrap();
    let rotated = UrlSigner::new(both).unwrap();
    assert_eq!(rotated.current_kid(), "s2");
    assert_eq!(rotated.verify("doc_1", exp, &kid, &sig, NOW), Ok(()));
    let (_, exp2, kid2, sig2) = parts(&rotated.url_at(None, "doc_1", 600, NOW));
    assert_eq!(kid2, "s2");
    let removed = UrlSigner::new(k2).unwrap();
    assert_eq!(
        removed.verify("doc_1", exp, &kid, &sig, NOW),
        Err(LinkError::Invalid)
    );
    assert_eq!(removed.verify("doc_1", exp2, &kid2, &sig2, NOW), Ok(()));
}

#[test]
fn urls_take_the_base_encode_the_id_and_cap_the_ttl() {
    let (s, _) = signer("s1");
    let url = s.url_at(Some("https://api.example.cm/"), "RG9j/dW1=+", 999_999, NOW);
    assert!(
        url.starts_with("https://api.example.cm/files/RG9j%2FdW1%3D%2B?exp="),
        "{url}"
    );
    let (_, exp, kid, sig) = parts(&url);
    assert_eq!(exp, NOW + MAX_LINK_TTL_SECS as i64);
    assert_eq!(s.verify("RG9j/dW1=+", exp, &kid, &sig, NOW), Ok(()));
    assert_eq!(parts(&s.url_at(None, "d", 0, NOW)).1, NOW + 1);
}

#[test]
fn query_parameters_must_be_present_and_canonical() {
    let (s, _) = signer("s1");
    let (_, exp, kid, sig) = parts(&s.url(None, "doc_9", 300));
    let params = |exp: &str| LinkParams {
        exp: Some(exp.into()),
        kid: Some(kid.clone()),
        sig: Some(sig.clone()),
    };
    assert_eq!(s.verify_params("doc_9", &params(&exp.to_string())), Ok(()));
    assert_eq!(
        s.verify_params("doc_9", &params(&format!("0{exp}"))),
        Err(LinkError::Invalid)
    );
    assert_eq!(
        s.verify_params("doc_9", &params(&format!("+{exp}"))),
        Err(LinkError::Invalid)
    );
    assert_eq!(
        s.verify_params("doc_9", &params("soon")),
        Err(LinkError::Invalid)
    );
    assert_eq!(
        s.verify_params("doc_9", &LinkParams::default()),
        Err(LinkError::Invalid)
    );
    let mut no_sig = params(&exp.to_string());
    no_sig.sig = None;
    assert_eq!(s.verify_params("doc_9", &no_sig), Err(LinkError::Invalid));
    assert!(
        UrlSigner::new(KeyRing {
            current: "x".into(),
            keys: Default::default()
        })
        .is_err()
    );
}
