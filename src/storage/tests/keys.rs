use crate::storage::{KeyRing, Storage};

#[test]
fn key_rings_parse_from_settings() {
    let k = |b: u8| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [b; 32]);
    let ring = KeyRing::parse(&format!(" k2:{} , k1:{} ", k(2), k(1))).unwrap();
    assert_eq!(ring.current, "k2");
    assert_eq!(ring.get("k1"), Some(&[1u8; 32]));
    assert_eq!(KeyRing::parse(&ring.to_setting()).unwrap(), ring);
    let debug = format!("{ring:?}");
    assert!(debug.contains("k1") && !debug.contains(&k(1)), "{debug}");
    let url_safe =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [9u8; 32]);
    assert!(KeyRing::parse(&format!("a:{url_safe}")).is_ok());
    for bad in [
        "",
        ",",
        "k1",
        "k1:short",
        &format!("k1:{},k1:{}", k(1), k(2)),
        &format!("bad kid:{}", k(1)),
        &format!(":{}", k(1)),
    ] {
        let err = KeyRing::parse(bad).unwrap_err();
        assert!(!err.to_string().contains(&k(1)), "{err}");
    }
    let mut broken = KeyRing::single("k1", [0; 32]);
    broken.current = "k9".into();
    assert!(Storage::in_memory(false, Some(broken)).is_err());
}
