//! `rabbitmq.sealed = true`: the live stream through the real RabbitMQ carries sealed
//! envelopes (`application/vnd.tgc.sealed`) that a consumer holding the key opens into the
//! same JSON as the plain stream, and that do not open under another routing key, another
//! message id or another key.

use std::sync::Arc;
use std::time::Duration;

use testkit::broker::amqp_url;
use testkit::stream_setup::{self, JOINED, Received, marked};
use tgc_common::config::{CryptoKey, CryptoSettings};
use tgc_service::cryptor::{Cryptor, EnvelopeError, keygen};
use tgc_service::publisher::SEALED_CONTENT_TYPE;

fn cryptor(key: &CryptoKey) -> Cryptor {
    Cryptor::from_settings(&CryptoSettings {
        keys: vec![key.clone()],
        clock_window: Duration::from_secs(60),
    })
    .expect("a keyring of one key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_with_the_key_opens_sealed_events_and_a_wrong_routing_key_does_not() {
    let setup = stream_setup::start("sealed").await;
    let mut tail = setup.tail().await;
    let key = keygen::generate();
    let mut config = setup.publisher_config(&amqp_url());
    config.seal = Some(Arc::new(cryptor(&key)));
    let (_pool, _publisher) = setup.publisher_with(config).await;

    let posted = setup.post(JOINED, 3, "sealed secret");
    let received = Received::until(&mut tail, |r| r.distinct() >= posted.len()).await;

    let consumer = cryptor(&key);
    let routing_key = format!("message.new.{}", marked(JOINED));
    let mut opened_ids = Vec::new();
    for event in &received.order {
        assert_eq!(event.content_type.as_deref(), Some(SEALED_CONTENT_TYPE));
        assert_eq!(event.routing_key, routing_key);
        assert!(
            !String::from_utf8_lossy(&event.body).contains("sealed secret"),
            "the text is not readable on the wire"
        );
        let message_id = event.message_id.as_deref().expect("a message_id");
        let json = consumer
            .open_stream(&event.routing_key, message_id, &event.body)
            .expect("the consumer with the key opens it");
        let body: serde_json::Value = serde_json::from_slice(&json).expect("JSON inside");
        assert!(
            body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("sealed secret")),
            "{body}"
        );
        opened_ids.push(body["id"].as_i64().expect("an id") as i32);

        let wrong_key = format!("message.delete.{}", marked(JOINED));
        assert_eq!(
            consumer.open_stream(&wrong_key, message_id, &event.body),
            Err(EnvelopeError::Unauthentic),
            "a body moved to another routing key does not open"
        );
        assert_eq!(
            consumer.open_stream(&event.routing_key, "-1:1:new:0", &event.body),
            Err(EnvelopeError::Unauthentic),
            "a body given another message_id does not open"
        );
        let mut stranger = keygen::generate();
        stranger.id = key.id;
        assert_eq!(
            cryptor(&stranger).open_stream(&event.routing_key, message_id, &event.body),
            Err(EnvelopeError::Unauthentic),
            "another key does not open it"
        );
    }
    assert_eq!(opened_ids, posted, "every event, in order");
    setup.finish(tail).await;
}
