//! `simulate --svg`: the picture is a well-formed SVG whose series, bands and markers say
//! what the timeline says — every weight the timeline prints at its time, the smoke test at
//! the pass that ran it, the alarm and the rollback at the pass that saw it.

use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::engine::picture::{svg, title};
use sagemaker_rollout::sim::Scenario;
use sagemaker_rollout::sim::simulate::{SimOptions, Simulation, simulate};

fn canary() -> sagemaker_rollout::api::ValidSpec {
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    load_valid("canary.yaml", &text).unwrap().remove(0).1
}

async fn run(scenario: &str) -> Simulation {
    let spec = canary();
    let options = SimOptions {
        scenario: Scenario::parse(scenario).unwrap(),
        ..SimOptions::default()
    };
    simulate(&spec, "ml-prod/churn", &options).await.unwrap()
}

/// `(seconds, champion %, candidate %)` of every timeline line that prints weights.
fn printed_weights(timeline: &[String]) -> Vec<(u64, i32, i32)> {
    timeline
        .iter()
        .filter_map(|l| {
            let t = l.strip_prefix('+')?.get(..8)?;
            let hms: Vec<u64> = t.split(':').filter_map(|p| p.parse().ok()).collect();
            let secs = hms.first()? * 3600 + hms.get(1)? * 60 + hms.get(2)?;
            let champ = l
                .split("champion ")
                .nth(1)?
                .split('%')
                .next()?
                .parse()
                .ok()?;
            let cand = l
                .split("candidate ")
                .nth(1)?
                .split('%')
                .next()?
                .parse()
                .ok()?;
            Some((secs, champ, cand))
        })
        .collect()
}

/// The seconds of the timeline pass whose calls include `call`.
fn pass_with(timeline: &[String], call: &str) -> u64 {
    let mut at = 0;
    for l in timeline {
        if let Some(t) = l.strip_prefix('+').and_then(|r| r.get(..8)) {
            let p: Vec<u64> = t.split(':').map(|x| x.parse().unwrap()).collect();
            at = p[0] * 3600 + p[1] * 60 + p[2];
        } else if l.contains(call) {
            return at;
        }
    }
    panic!("no pass called {call}");
}

struct Picture {
    series: Vec<(String, Vec<(u64, i32)>)>,
    markers: Vec<(String, u64)>,
    bands: Vec<String>,
    text: String,
}

fn read(svg: &str) -> Picture {
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let series = root
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| {
            let points = n
                .attribute("data-points")
                .unwrap()
                .split(' ')
                .map(|p| {
                    let (t, w) = p.split_once(':').unwrap();
                    (t.parse().unwrap(), w.parse().unwrap())
                })
                .collect();
            (n.attribute("data-series").unwrap().to_owned(), points)
        })
        .collect();
    let markers = root
        .descendants()
        .filter_map(|n| {
            Some((
                n.attribute("data-marker")?.to_owned(),
                n.attribute("data-at")?.parse().ok()?,
            ))
        })
        .collect();
    let bands = root
        .descendants()
        .filter_map(|n| n.attribute("data-band").map(str::to_owned))
        .collect();
    let text = root
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("|");
    Picture {
        series,
        markers,
        bands,
        text,
    }
}

fn points<'a>(p: &'a Picture, name: &str) -> &'a [(u64, i32)] {
    &p.series
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} series"))
        .1
}

#[tokio::test]
async fn the_canary_picture_holds_every_weight_the_timeline_prints_and_the_smoke_test() {
    let sim = run("").await;
    let pic = read(&svg("ml-prod/churn (Canary) on churn-prod", &sim.samples));
    let printed = printed_weights(&sim.timeline);
    assert!(printed.len() >= 6, "{:?}", sim.timeline);
    for (t, champ, cand) in &printed {
        assert!(
            points(&pic, "champion").contains(&(*t, *champ)),
            "champion {champ} % at {t}s"
        );
        assert!(
            points(&pic, "candidate").contains(&(*t, *cand)),
            "candidate {cand} % at {t}s"
        );
    }
    // The steps of the example: 10 %, then 50 %, then all of it.
    let weights: Vec<i32> = points(&pic, "candidate").iter().map(|(_, w)| *w).collect();
    for w in [10, 50, 100] {
        assert!(weights.contains(&w), "{weights:?}");
    }
    assert_eq!(
        pic.markers
            .iter()
            .filter(|(k, _)| k == "smoke")
            .map(|(_, t)| *t)
            .collect::<Vec<_>>(),
        vec![pass_with(&sim.timeline, "InvokeEndpoint")]
    );
    assert_eq!(
        pic.bands.iter().filter(|b| *b == "bake").count(),
        2,
        "one bake per step"
    );
    assert!(
        !pic.markers
            .iter()
            .any(|(k, _)| k == "alarm" || k == "rollback")
    );
    for label in [
        "champion weight",
        "candidate weight",
        "bake",
        "rolling back",
        "smoke test",
        "alarm",
    ] {
        assert!(pic.text.contains(label), "legend lacks {label}");
    }
}

#[tokio::test]
async fn an_alarm_picture_marks_the_alarm_and_the_rollback_where_the_timeline_has_them() {
    let sim = run("events:\n  - {at: 25m, alarm: churn-business-kpi, state: ALARM}\n").await;
    let pic = read(&svg("alarm", &sim.samples));
    let alarm = pic
        .markers
        .iter()
        .find(|(k, _)| k == "alarm")
        .expect("alarm marker")
        .1;
    // Seen within one analysis interval (15 s) of firing.
    assert!(
        (25 * 60..=25 * 60 + 15).contains(&alarm),
        "alarm at {alarm}s"
    );
    let rollback = pic
        .markers
        .iter()
        .find(|(k, _)| k == "rollback")
        .expect("rollback marker")
        .1;
    assert_eq!(
        rollback, alarm,
        "the pass that saw the alarm started the rollback"
    );
    assert!(pic.bands.iter().any(|b| b == "rollback"));
    let cand = points(&pic, "candidate");
    assert_eq!(
        cand.last().map(|(_, w)| *w),
        Some(0),
        "the candidate ends with no traffic"
    );
    assert_eq!(points(&pic, "champion").last().map(|(_, w)| *w), Some(100));
    for (t, champ, cand) in printed_weights(&sim.timeline) {
        assert!(
            points(&pic, "champion").contains(&(t, champ)),
            "champion {champ} % at {t}s"
        );
        assert!(
            points(&pic, "candidate").contains(&(t, cand)),
            "candidate {cand} % at {t}s"
        );
    }
}

/// The README's picture is generated, committed, and must not drift:
/// `cargo run -- simulate -f deploy/examples/canary.yaml --svg docs/img/canary.svg`.
#[tokio::test]
async fn the_readme_picture_is_the_canary_example_as_simulate_draws_it() {
    let sim = run("").await;
    let drawn = svg(&title("ml-prod/churn", &canary()), &sim.samples);
    let committed = std::fs::read_to_string("docs/img/canary.svg").unwrap();
    assert!(
        drawn == committed,
        "docs/img/canary.svg is stale: cargo run -- simulate -f deploy/examples/canary.yaml --svg docs/img/canary.svg"
    );
}
