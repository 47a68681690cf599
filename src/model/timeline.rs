//! An import's requests and 429 answers over time, for the report's chart.
//!
//! Owns the series and its bound: one point per step (a second at first);
//! past [`MAX_POINTS`] points, neighbours merge and the step doubles, so a
//! run of any length keeps at most that many. It is fed cumulative counts
//! (the client's requests, the pacer's 429s) by a sampler in the run's
//! wiring, so the uploader carries no hook for it. It must not decide
//! anything: it records what the counters said.

use std::time::Duration;

/// The most points kept.
pub const MAX_POINTS: usize = 1800;

/// Requests and 429 answers per step of time since sending began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// Per step: requests started, 429 answers received.
    points: Vec<(u64, u64)>,
    /// Width of a point.
    step: Duration,
    /// The cumulative counts at the last sample.
    last: (u64, u64),
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            points: Vec::new(),
            step: Duration::from_secs(1),
            last: (0, 0),
        }
    }
}

impl Timeline {
    /// Records the cumulative counts `requests` and `rate_limited` as they
    /// stood `at` after the start: what came since the last sample goes to
    /// the point `at` falls in.
    pub fn sample(&mut self, at: Duration, requests: u64, rate_limited: u64) {
        let new = (
            requests.saturating_sub(self.last.0),
            rate_limited.saturating_sub(self.last.1),
        );
        self.last = (requests.max(self.last.0), rate_limited.max(self.last.1));
        // The sample at the end of a step belongs to it.
        let mut index = (at.saturating_sub(Duration::from_millis(1)).as_nanos()
            / self.step.as_nanos()) as usize;
        while index >= MAX_POINTS {
            self.coarsen();
            index /= 2;
        }
        if self.points.len() <= index {
            self.points.resize(index + 1, (0, 0));
        }
        self.points[index].0 += new.0;
        self.points[index].1 += new.1;
    }

    /// Merges neighbours: half the points, twice the step.
    fn coarsen(&mut self) {
        self.points = self
            .points
            .chunks(2)
            .map(|c| c.iter().fold((0, 0), |a, p| (a.0 + p.0, a.1 + p.1)))
            .collect();
        self.step *= 2;
    }

    /// `(requests, 429 answers)` per step, from the start.
    pub fn points(&self) -> &[(u64, u64)] {
        &self.points
    }

    /// The width of a point.
    pub fn step(&self) -> Duration {
        self.step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_second_as_differences() {
        let mut t = Timeline::default();
        t.sample(Duration::from_secs(1), 10, 0);
        t.sample(Duration::from_secs(2), 25, 1);
        t.sample(Duration::from_millis(4000), 30, 3);
        assert_eq!(t.points(), [(10, 0), (15, 1), (0, 0), (5, 2)]);
        assert_eq!(t.step(), Duration::from_secs(1));
    }

    #[test]
    fn a_long_run_keeps_at_most_the_bound_and_loses_no_count() {
        let mut t = Timeline::default();
        let seconds = 10 * MAX_POINTS as u64;
        for s in 1..=seconds {
            t.sample(Duration::from_secs(s), s * 3, s / 10);
        }
        assert!(t.points().len() <= MAX_POINTS, "{}", t.points().len());
        assert_eq!(t.step(), Duration::from_secs(16));
        let total = t
            .points()
            .iter()
            .fold((0, 0), |a, p| (a.0 + p.0, a.1 + p.1));
        assert_eq!(total, (seconds * 3, seconds / 10));
    }
}
