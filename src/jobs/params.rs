//! What a job needs besides its template and items, typed: stored as JSON in `jobs.params` and
//! read back by the job's kind, never with silent defaults. A job whose parameters do not decode
//! fails with a clear error.

use sea_orm::{ColumnTrait, QueryFilter, Select};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::types::JobKind;
use crate::{
    entities::{declaration_item, policy},
    error::AppResult,
    policies::types::{PolicyFilter, PolicyOrder},
    principal::{Principal, Role},
};

/// The parameters of a job, by kind.
#[derive(Clone)]
pub enum JobParams {
    /// `generateDocument`: the item says which policy or client.
    Document,
    /// `generateDocuments`: the items say which policies.
    Documents,
    /// `generateReport`: the policies the requester could read when the job runs.
    Report(ReportParams),
}

/// Who a report runs as, and which policies it covers.
#[derive(Clone, Serialize, Deserialize)]
pub struct ReportParams {
    pub principal: PrincipalSnapshot,
    pub filter: Option<PolicyFilter>,
    /// A bordereau's report: exactly the policies of this declaration batch, each with the premium
    /// and commission it was declared with, and the batch as `declaration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration: Option<Uuid>,
}

impl ReportParams {
    /// The policies a report covers: those its requester may read that match its filter, in the
    /// job's organization only. A SUPERADMIN's scope spans every organization, but a report is
    /// filed in one and read by its people: it never shows another's policies.
    pub fn policies(&self, organization_id: Uuid, order: Option<Vec<PolicyOrder>>) -> AppResult<Select<policy::Entity>> {
        let mut requester = self.principal.principal();
        requester.org_id = organization_id;
        let scoped = crate::policies::service::list(&requester, self.filter.clone(), order)?;
        let scoped = scoped.filter(policy::Column::OrganizationId.eq(organization_id));
        Ok(match self.declaration {
            Some(batch) => {
                use sea_orm::{EntityTrait, QuerySelect, QueryTrait};
                let items = declaration_item::Entity::find()
                    .select_only()
                    .column(declaration_item::Column::PolicyId)
                    .filter(declaration_item::Column::BatchId.eq(batch))
                    .into_query();
                scoped.filter(policy::Column::Id.in_subquery(items))
            }
            None => scoped,
        })
    }
}

/// Why a PDF or HTML report over more than `limit` policies is refused (when queued or made).
pub fn too_many_policies(limit: u64) -> String {
    format!(
        "more than {limit} policies match: a PDF or HTML report covers at most {limit} (REPORT_MAX_POLICIES); \
         narrow the filter, or use an XLSX template, whose rows stream without a limit"
    )
}

/// The requester as the job saw them when it was queued: the report reads through their scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalSnapshot {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub role: Role,
}

impl PrincipalSnapshot {
    pub fn of(principal: &Principal) -> Self {
        PrincipalSnapshot { user_id: principal.user_id, org_id: principal.org_id, role: principal.role }
    }

    /// The principal the job's reads are scoped by (no session, no API key: a job runs offline).
    pub fn principal(&self) -> Principal {
        Principal { user_id: self.user_id, org_id: self.org_id, role: self.role, session_id: None, api_key: None }
    }
}

impl JobParams {
    /// The JSON kept in `jobs.params`.
    pub fn to_json(&self) -> Value {
        match self {
            JobParams::Document | JobParams::Documents => Value::Object(Default::default()),
            JobParams::Report(report) => serde_json::to_value(report).expect("report parameters serialise"),
        }
    }

    /// The parameters of a job of `kind`, or why they cannot be read.
    pub fn from_json(kind: JobKind, params: &Value) -> Result<Self, String> {
        match kind {
            JobKind::Document => Ok(JobParams::Document),
            JobKind::Documents => Ok(JobParams::Documents),
            JobKind::Report => serde_json::from_value(params.clone())
                .map(JobParams::Report)
                .map_err(|e| format!("the report's parameters cannot be read: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_parameters_round_trip_and_a_missing_principal_is_an_error() {
        let report = JobParams::Report(ReportParams {
            principal: PrincipalSnapshot { user_id: Uuid::now_v7(), org_id: Uuid::now_v7(), role: Role::Agent },
            filter: None,
            declaration: None,
        });
        let json = report.to_json();
        match JobParams::from_json(JobKind::Report, &json) {
            Ok(JobParams::Report(read)) => assert_eq!(read.principal.role, Role::Agent),
            _ => panic!("the report parameters did not read back"),
        }
        let Err(error) = JobParams::from_json(JobKind::Report, &serde_json::json!({"filter": null})) else {
            panic!("parameters without a principal were read");
        };
        assert!(error.contains("principal"), "{error}");
    }
}
