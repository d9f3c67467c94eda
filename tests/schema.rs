//! `schema.graphql` must be exactly what the code serves. Refresh it with
//! `UPDATE_SCHEMA=1 cargo test --test schema`.

#[test]
fn schema_graphql_matches_the_code() {
    let sdl = monassurance::schema::sdl();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    if std::env::var("UPDATE_SCHEMA").is_ok() {
        std::fs::write(&path, &sdl).expect("write schema.graphql");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == sdl,
        "schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test --test schema` and commit the file"
    );
}
