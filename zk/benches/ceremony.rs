//! The setup ceremony: a powers-of-tau contribution and its full check at 2^10 (timed by
//! criterion). With `CREDENCE_CEREMONY_SHAPES=1`, also one contribution to each phase of every
//! circuit shape at the power it needs, its check, the derivation of the circuit's parameters and
//! the file sizes, printed once (minutes: the figures of the closing notes).

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::time::Instant;
use zk::ceremony::{File, domain_power, verify_contribution};
use zk::unlinkable::CircuitShape;

fn quiet(_: f64) {}

fn shapes() {
    if std::env::var("CREDENCE_CEREMONY_SHAPES").is_err() {
        return;
    }
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for shape in CircuitShape::SHAPES {
        let power = u8::try_from(domain_power(shape).expect("synthesises")).expect("small");
        let initial = File::initial_powers("bench", power).expect("initial");
        let t = Instant::now();
        let powers = initial
            .contribute("did:credence:a", &mut rng, &quiet)
            .expect("contributes");
        let contribute = t.elapsed();
        let t = Instant::now();
        verify_contribution(&initial, &powers, &mut rng).expect("verifies");
        println!(
            "ceremony {}: powers of tau 2^{power}: contribution {:.2} s, check {:.2} s, file {} bytes",
            shape.id(),
            contribute.as_secs_f64(),
            t.elapsed().as_secs_f64(),
            powers.to_bytes().len()
        );
        let t = Instant::now();
        let start = File::initial_circuit(&powers, shape).expect("derives");
        let derive = t.elapsed();
        let t = Instant::now();
        let next = start
            .contribute("did:credence:a", &mut rng, &quiet)
            .expect("contributes");
        let contribute = t.elapsed();
        let t = Instant::now();
        verify_contribution(&start, &next, &mut rng).expect("verifies");
        println!(
            "ceremony {}: derivation {:.1} s, circuit contribution {:.2} s, check {:.2} s, file {} bytes",
            shape.id(),
            derive.as_secs_f64(),
            contribute.as_secs_f64(),
            t.elapsed().as_secs_f64(),
            next.to_bytes().len()
        );
    }
}

fn bench_powers(c: &mut Criterion) {
    shapes();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let initial = File::initial_powers("bench", 10).expect("initial");
    let next = initial
        .contribute("did:credence:a", &mut rng, &quiet)
        .expect("contributes");
    let mut g = c.benchmark_group("ceremony");
    g.sample_size(10);
    g.bench_function("powers_2^10/contribute", |b| {
        b.iter(|| {
            initial
                .contribute("did:credence:a", &mut rng, &quiet)
                .expect("contributes")
        })
    });
    g.bench_function("powers_2^10/verify", |b| {
        b.iter(|| verify_contribution(&initial, &next, &mut rng).expect("verifies"))
    });
    g.finish();
}

criterion_group!(benches, bench_powers);
criterion_main!(benches);
