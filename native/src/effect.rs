//! `EffectTracker._extend` (`watchkeeper/detectors/effect/tracker.py`) in one call: a run's
//! signal followed while away, standardised, and fed to every shadow CUSUM (up and down for
//! each reference value, and the Bernoulli rate sides while every value was 0 or 1), with
//! the sums since each one last left zero.
//!
//! Python keeps the state and stays the reference; this returns the updated numbers. The
//! arithmetic is the reference's, operation for operation: cumulative sums and the sums of
//! values and of their squares are taken left to right (`np.add.accumulate`), the running
//! floor is `np.minimum.accumulate` (which keeps the second operand of equal ones), Rust
//! never contracts `a * b + c` into an FMA, and the rate steps' logarithms come from Python.
//! `tests/detectors/test_effect_core.py` holds both paths to the same outputs and pickles.

use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyList};

/// A shadow CUSUM's statistic, and the count, sum and sum of squares of the values since it
/// last left zero (`_Side`'s `statistic`, `n`, `s1`, `s2`).
type Sums = (f64, i64, f64, f64);

/// The tracker's own numbers: `_anchor`, `_n`, `_s1`, `_s2`.
type Tracker = (f64, i64, f64, f64);

/// While away: `(level, reference, band, weight)` of `_follow`.
type Follow = (f64, f64, f64, f64);

/// What `effect_extend` returns: the tracker's numbers, the shadow sides', the rate sides'
/// with the events counted (None: a value was not 0 or 1, the rates stop), and while away
/// the level followed and whether it came back.
type Extended = (
    Tracker,
    Vec<Sums>,
    Option<(i64, Vec<Sums>)>,
    Option<(f64, bool)>,
);

/// `np.minimum`: the first operand when smaller (or NaN), else the second.
fn np_min(a: f64, b: f64) -> f64 {
    if a < b || a.is_nan() { a } else { b }
}

/// `np.add.accumulate(values)[-1]`, 0.0 for none: left to right from the first value.
fn total(values: impl Iterator<Item = f64>) -> f64 {
    let mut values = values;
    let Some(first) = values.next() else {
        return 0.0;
    };
    values.fold(first, |sum, x| sum + x)
}

/// `total` of the values and of their squares.
fn sums(values: &[f64]) -> (f64, f64) {
    (
        total(values.iter().copied()),
        total(values.iter().map(|x| x * x)),
    )
}

/// `_Side.extend`: the closed form `S_t = cumsum - running minimum (from -S_0)`, and the sums
/// of `d` after the last zero (or added to the side's when it never reached zero).
fn extend_side(side: Sums, steps: impl Iterator<Item = f64>, d: &[f64], run: (f64, f64)) -> Sums {
    let (start, n, s1, s2) = side;
    let mut cumulative = 0.0;
    let mut floor = 0.0;
    let mut statistic = start;
    let mut last_zero = None;
    for (i, step) in steps.enumerate() {
        cumulative = if i == 0 { step } else { cumulative + step };
        let low = np_min(cumulative, -start);
        floor = if i == 0 { low } else { np_min(floor, low) };
        statistic = cumulative - floor;
        if statistic <= 0.0 {
            last_zero = Some(i);
        }
    }
    match last_zero {
        Some(at) => {
            let tail = &d[at + 1..];
            let (t1, t2) = sums(tail);
            (statistic, tail.len() as i64, t1, t2)
        }
        None => (statistic, n + d.len() as i64, s1 + run.0, s2 + run.1),
    }
}

/// The run's values as `np.asarray(..., dtype=float64)` reads them, finite ones only, or
/// None for an item that is neither None nor a number (Python's path then decides).
fn finite_values(values: &Bound<'_, PyList>, start: usize, stop: usize) -> Option<Vec<f64>> {
    let stop = stop.min(values.len());
    let mut found = Vec::with_capacity(stop.saturating_sub(start));
    for i in start..stop {
        if let Some(x) = finite_at(values, i)? {
            found.push(x);
        }
    }
    Some(found)
}

/// Item `i` as a finite float; `Some(None)` for None or a non-finite number, None for an
/// item that is neither None nor a number (Python's path then decides).
fn finite_at(values: &Bound<'_, PyList>, i: usize) -> Option<Option<f64>> {
    let item = values.get_item(i).ok()?;
    if item.is_none() {
        return Some(None);
    }
    let x = match item.cast_exact::<PyFloat>() {
        Ok(float) => float.value(),
        Err(_) => item.extract::<f64>().ok()?,
    };
    Some(x.is_finite().then_some(x))
}

/// `_follow`: the level after the values, and whether it came within the band.
fn follow(x: &[f64], away: Follow) -> (f64, bool) {
    let (mut level, reference, band, weight) = away;
    for &v in x {
        level += weight * (v - level);
        if (level - reference).abs() <= band {
            return (level, true);
        }
    }
    (level, false)
}

/// The standardised values `z` of `_extend` (zeros before two values were seen).
fn standardised(d: &[f64], n: i64, s1: f64, s2: f64) -> Vec<f64> {
    const CLIP: f64 = 8.0;
    if n < 2 {
        return vec![0.0; d.len()];
    }
    let mean = s1 / n as f64;
    let variance = (s2 - s1 * mean) / (n - 1) as f64;
    // Python's `max(0.0, v)`: 0.0 unless v is larger (a NaN too gives 0.0).
    let sd = (if variance > 0.0 { variance } else { 0.0 }).sqrt();
    d.iter()
        .map(|&v| {
            let z = if sd > 0.0 {
                (v - mean) / sd
            } else {
                let gap = v - mean;
                let sign = if gap > 0.0 {
                    1.0
                } else if gap < 0.0 {
                    -1.0
                } else {
                    gap
                };
                sign * CLIP
            };
            z.clamp(-CLIP, CLIP)
        })
        .collect()
}

/// `EffectTracker._extend` over `values[start:stop]` (None, NaN and infinities skipped):
/// `tracker` its numbers, `sides` the shadow sides as `(sign, k, sums)`, `rates` the rate
/// sides as `(step of an event, step of a non-event, sums)` while the values were all 0 or
/// 1 (else None), `away` what `_follow` needs while away (else None). None when an item is
/// not a number Rust reads as Python would.
#[pyfunction]
pub fn effect_extend(
    values: &Bound<'_, PyList>,
    start: usize,
    stop: usize,
    tracker: Tracker,
    sides: Vec<(f64, f64, Sums)>,
    rates: Option<Vec<(f64, f64, Sums)>>,
    away: Option<Follow>,
) -> Option<Extended> {
    let x = finite_values(values, start, stop)?;
    let (anchor, n, s1, s2) = tracker;
    if x.is_empty() {
        let sides = sides.into_iter().map(|(_, _, sums)| sums).collect();
        let rates = rates.map(|r| (0, r.into_iter().map(|(_, _, sums)| sums).collect()));
        return Some((tracker, sides, rates, away.map(|a| (a.0, false))));
    }
    let followed = away.map(|away| follow(&x, away));
    let anchor = if anchor.is_nan() { x[0] } else { anchor };
    let d: Vec<f64> = x.iter().map(|v| v - anchor).collect();
    let run = sums(&d);
    let z = standardised(&d, n, s1, s2);
    let sides = sides
        .into_iter()
        .map(|(sign, k, sums)| extend_side(sums, z.iter().map(|z| sign * z - k), &d, run))
        .collect();
    let rates = rates.and_then(|rates| {
        if !x.iter().all(|&v| v == 0.0 || v == 1.0) {
            return None;
        }
        let events = x.iter().filter(|&&v| v == 1.0).count() as i64;
        let sides = rates
            .into_iter()
            .map(|(hit, miss, sums)| {
                let steps = x.iter().map(|&v| if v == 1.0 { hit } else { miss });
                extend_side(sums, steps, &d, run)
            })
            .collect();
        Some((events, sides))
    });
    let tracker = (anchor, n + d.len() as i64, s1 + run.0, s2 + run.1);
    Some((tracker, sides, rates, followed))
}

/// What `page_run` found: how many finite values were tested, whether the last of them
/// crossed the threshold, the calls up to the statistic's last zero among them (None: it
/// never reached zero) and the events among those, the events among all tested, the
/// statistic after the last one tested, and that one's index from `start`.
type PageRun = (usize, bool, Option<usize>, i64, i64, f64, usize);

/// `RatePageTest._run` over `values[start:stop]` (None, NaN and infinities skipped): the
/// Bernoulli CUSUM from `statistic` with `steps.0` per event (a value of 0.5 or more) and
/// `steps.1` per other call, in the closed form of the reference (`np.minimum.accumulate`),
/// up to the first value above `threshold`. None when an item is not a number Rust reads as
/// Python would, or when no value is finite.
#[pyfunction]
pub fn page_run(
    values: &Bound<'_, PyList>,
    start: usize,
    stop: usize,
    steps: (f64, f64),
    statistic: f64,
    threshold: f64,
) -> Option<PageRun> {
    let (hit, miss) = steps;
    let stop = stop.min(values.len());
    let (mut cumulative, mut floor, mut current) = (0.0, 0.0, statistic);
    let (mut tested, mut last_zero, mut before_zero, mut events, mut at) = (0, None, 0, 0, 0);
    for i in start..stop {
        let Some(x) = finite_at(values, i)? else {
            continue;
        };
        let event = x >= 0.5;
        let step = if event { hit } else { miss };
        cumulative = if tested == 0 { step } else { cumulative + step };
        let low = np_min(cumulative, -statistic);
        floor = if tested == 0 { low } else { np_min(floor, low) };
        current = cumulative - floor;
        tested += 1;
        events += i64::from(event);
        at = i - start;
        if current <= 0.0 {
            last_zero = Some(tested);
            before_zero = events;
        }
        if current > threshold {
            return Some((tested, true, last_zero, before_zero, events, current, at));
        }
    }
    (tested > 0).then_some((tested, false, last_zero, before_zero, events, current, at))
}
