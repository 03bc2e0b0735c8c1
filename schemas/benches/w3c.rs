//! Benchmarks of the W3C views (issue 19): a diploma's credential JSON written and read back
//! (parse, proof decoding, re-derivation, JSON Schema validation of the whole credential), and
//! a status-list chunk encoded as the served `encodedList` (bit reversal + GZIP + multibase)
//! and decoded; an OpenID4VP request object signed and opened (issue 20).

use criterion::{Criterion, criterion_group, criterion_main};
use schemas::Canonical;
use schemas::credential::{
    AttributeCommitment, CommittedAttribute, Credential, CredentialDocument, Envelope, Issuance, Opening,
    PedersenCommitment, StatusEntry, View, attribute_digest,
};
use schemas::credential_schema::{AttributeValue, CredentialSchema};
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{STATUS_CHUNK_BITS, StatusListChunk};
use schemas::merkle::MerkleTree;
use schemas::sm2::SecretKey;
use schemas::status_list::{decode_list, encode_list, w3c_bitstring};
use std::hint::black_box;

/// A university diploma (six attributes) at leaf 3 of a batch of 1,000. The numbers' Pedersen
/// commitments are placeholders (`schemas` does not open them).
fn diploma(schema: &CredentialSchema) -> Credential {
    let issuer = SecretKey::from_bytes(&[7; 32]).expect("key");
    let holder = SecretKey::from_bytes(&[9; 32]).expect("key");
    let values = [
        ("degree", AttributeValue::Text("Bachelor of Engineering".into())),
        ("gpa", AttributeValue::Integer(362)),
        ("graduation_date", AttributeValue::Integer(20_635)),
        ("major", AttributeValue::Text("Computer Science".into())),
        ("name", AttributeValue::Text("Li Hua".into())),
        ("student_id", AttributeValue::Text("2022010001".into())),
    ];
    let mut attributes = Vec::new();
    let mut openings = Vec::new();
    for (i, (name, value)) in values.into_iter().enumerate() {
        let randomness = [i as u8 + 1; 32];
        let commitment = match &value {
            AttributeValue::Text(_) => {
                AttributeCommitment::Digest(attribute_digest(name, &value, &randomness))
            }
            AttributeValue::Integer(_) => AttributeCommitment::Pedersen(PedersenCommitment([i as u8; 32])),
        };
        attributes.push(CommittedAttribute {
            name: name.into(),
            commitment,
        });
        openings.push(Opening {
            name: name.into(),
            value,
            randomness,
        });
    }
    let envelope = Envelope {
        id: Hash([0x11; 32]),
        credential_type: "UniversityDiploma".into(),
        schema_id: schema.id().into(),
        issuer: Did::from_public_key(issuer.public_key()),
        holder: holder.public_key().clone(),
        valid_from: 1_782_777_600,
        valid_until: None,
        status: StatusEntry {
            list_id: 0,
            index: 42,
        },
        attributes,
        poseidon_leaf: None,
    };
    let mut leaves: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_le_bytes().to_vec()).collect();
    leaves[3] = envelope.digest().0.to_vec();
    let tree = MerkleTree::from_leaves(&leaves);
    let view = View::new(schema, &envelope, Some("https://ledger.example.edu")).expect("view");
    Credential {
        issuance: Issuance {
            batch_root: tree.root(),
            inclusion: tree.prove(3).expect("in range"),
            issuer_signature: None,
            unlinkable: None,
        },
        envelope,
        openings,
        view,
    }
}

fn bench_credential(c: &mut Criterion) {
    let schema = CredentialSchema::builtin("university-diploma").expect("built in");
    let credential = diploma(&schema);
    let text = credential.to_json().to_string();
    assert_eq!(
        CredentialDocument::parse(&text)
            .and_then(|d| d.read(&schema))
            .expect("reads"),
        credential
    );
    c.bench_function("w3c/credential_to_json", |b| {
        b.iter(|| black_box(&credential).to_json())
    });
    c.bench_function(
        "w3c/credential_read (parse, decode proof, re-derive, validate)",
        |b| {
            b.iter(|| {
                CredentialDocument::parse(black_box(&text))
                    .and_then(|d| d.read(&schema))
                    .expect("reads")
            })
        },
    );
}

fn bench_status_list(c: &mut Criterion) {
    let issuer = Did::from_public_key(SecretKey::from_bytes(&[7; 32]).expect("key").public_key());
    let mut chunk = StatusListChunk::empty(issuer, 0, 0);
    // 1% revoked, spread over the chunk.
    for i in (0..STATUS_CHUNK_BITS).step_by(100) {
        chunk.set(i);
    }
    let encoded = encode_list(&w3c_bitstring(&chunk));
    c.bench_function("w3c/status_list_encode (131072 bits, 1% set)", |b| {
        b.iter(|| encode_list(&w3c_bitstring(black_box(&chunk))))
    });
    c.bench_function("w3c/status_list_decode", |b| {
        b.iter(|| decode_list(black_box(&encoded)).expect("decodes"))
    });
}

/// An OpenID4VP request object (issue 20): signed (two SM2 signatures' worth of work: the
/// request, then the JWS) and opened (both verified, every parameter compared).
fn bench_request_object(c: &mut Criterion) {
    use schemas::openid4vp::{AuthorizationRequest, open_request_object, request_object};
    use schemas::presentation::{Channel, PresentationRequest, SignedRequest, Tier};
    let verifier = SecretKey::from_bytes(&[0x41; 32]).expect("key");
    let signed = SignedRequest::sign(
        PresentationRequest {
            verifier: Did::from_public_key(verifier.public_key()),
            credential_type: "UniversityDiploma".into(),
            accepted_issuers: vec![],
            disclose: vec!["degree".into(), "name".into()],
            predicates: vec![],
            nonce: Hash([0x66; 32]),
            purpose: "hiring".into(),
            created_at: 1_790_000_000,
            expires_at: 1_790_000_600,
            tier: Tier::Selective,
            channel: Some(Channel {
                response_uri: "https://verify.employer.example/v1/oid4vp/responses".into(),
                session: "482-913".into(),
            }),
        },
        &verifier,
    );
    let request = AuthorizationRequest::new(&signed, "0123456789abcdef").expect("request");
    let object = request_object(&request, &verifier).expect("signed");
    c.bench_function("openid4vp/request object sign", |b| {
        b.iter(|| request_object(black_box(&request), &verifier).expect("signed"))
    });
    c.bench_function("openid4vp/request object open", |b| {
        b.iter(|| open_request_object(black_box(&object), &request.client_id).expect("opens"))
    });
    // What a wallet reads first and a verifier reads last: the link, and a direct_post answer
    // carrying a presentation-sized vp_token (20 KB).
    let link = schemas::openid4vp::Link {
        client_id: request.client_id.clone(),
        request_uri: "https://verify.employer.example/v1/oid4vp/requests/0123456789abcdef".into(),
    }
    .to_text();
    c.bench_function("openid4vp/link parse", |b| {
        b.iter(|| schemas::openid4vp::Link::parse(black_box(&link)).expect("a link"))
    });
    let form = schemas::openid4vp::DirectPost::presentation(
        "0123456789abcdef",
        &format!("{{\"proof\":\"{}\"}}", "ab".repeat(10_000)),
    )
    .to_form();
    c.bench_function("openid4vp/direct_post parse (20 KB)", |b| {
        b.iter(|| schemas::openid4vp::DirectPost::parse(black_box(form.as_bytes())).expect("an answer"))
    });
}

/// OpenID4VCI (issue 20): a holder's proof of possession made, and opened by the issuer (the
/// key read from its `kid`, the SM2 signature verified, the claims checked).
fn bench_proof_of_possession(c: &mut Criterion) {
    use schemas::openid4vci::{open_proof, proof_jwt};
    let holder = SecretKey::from_bytes(&[0x21; 32]).expect("key");
    let issuer = "https://issuer.university.example";
    let proof = proof_jwt(&holder, issuer, "n-1", 1_790_000_000);
    c.bench_function("openid4vci/proof make", |b| {
        b.iter(|| proof_jwt(black_box(&holder), issuer, "n-1", 1_790_000_000))
    });
    c.bench_function("openid4vci/proof open", |b| {
        b.iter(|| open_proof(black_box(&proof), issuer, 1_790_000_000).expect("opens"))
    });
}

/// A published schema is parsed (and its validators compiled) when a wallet first meets it: the
/// titles in two languages of version 2 against the bare version 1.
fn bench_schema(c: &mut Criterion) {
    for name in ["university-diploma-1", "university-diploma"] {
        let text = CredentialSchema::builtin(name)
            .expect("built in")
            .json()
            .to_owned();
        c.bench_function(&format!("schema/parse {name} ({} bytes)", text.len()), |b| {
            b.iter(|| CredentialSchema::from_json(black_box(&text)).expect("parses"))
        });
    }
}

criterion_group!(
    benches,
    bench_schema,
    bench_credential,
    bench_status_list,
    bench_request_object,
    bench_proof_of_possession
);
criterion_main!(benches);
