//! Job metrics: finished jobs by kind and status, and item render time (exposed on `/metrics`).

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

#[derive(Default)]
pub struct JobMetrics {
    finished: Mutex<BTreeMap<(String, String), u64>>,
    items: Mutex<BTreeMap<String, (u64, f64)>>,
    active: AtomicI64,
}

/// Counts a job as active in this process while it lives.
pub struct ActiveGuard<'a>(&'a JobMetrics);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl JobMetrics {
    /// Marks a job as being worked on by this process until the guard drops.
    pub fn working(&self) -> ActiveGuard<'_> {
        self.active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(self)
    }

    pub fn finished(&self, kind: &str, status: &str) {
        *self.finished.lock().unwrap_or_else(|p| p.into_inner()).entry((kind.into(), status.into())).or_default() += 1;
    }

    pub fn observe_item(&self, kind: &str, took: Duration) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let e = items.entry(kind.into()).or_default();
        e.0 += 1;
        e.1 += took.as_secs_f64();
    }

    /// Prometheus text for these metrics.
    pub fn render(&self) -> String {
        let active = self.active.load(Ordering::Relaxed).max(0);
        let mut out = String::from("# HELP jobs_total Jobs finished, by kind and status.\n# TYPE jobs_total counter\n");
        for ((kind, status), n) in self.finished.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out.push_str(&format!("jobs_total{{kind=\"{kind}\",status=\"{status}\"}} {n}\n"));
        }
        out.push_str("# HELP jobs_active Jobs this process's workers are working on.\n# TYPE jobs_active gauge\n");
        out.push_str(&format!("jobs_active {active}\n"));
        out.push_str("# HELP job_item_seconds Time to make one job item.\n# TYPE job_item_seconds summary\n");
        for (kind, (count, sum)) in self.items.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out.push_str(&format!("job_item_seconds_sum{{kind=\"{kind}\"}} {sum}\njob_item_seconds_count{{kind=\"{kind}\"}} {count}\n"));
        }
        out
    }
}
