//! kube alongside the AWS crates must not panic choosing a rustls crypto provider at run time
//! (../shared/NOTES.md): building a client exercises exactly that path.

#[tokio::test]
async fn building_a_kube_client_does_not_panic_over_the_tls_provider() {
    let config = kube::Config::new("https://127.0.0.1:6443".parse().expect("uri"));
    let client = kube::Client::try_from(config);
    assert!(client.is_ok(), "{:?}", client.err());
}
