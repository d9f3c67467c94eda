//! The schema: every domain's queries, mutations and subscriptions merged, and the Relay `Node`
//! interface over every domain's objects. It sits above the domains (it names them all);
//! `schema()` attaches no data, so the SDL test and the server share it.


use async_graphql::{
    Context, ID, Interface, MergedObject, MergedSubscription, Object, Result, Schema, SchemaBuilder,
};

use crate::{
    principal::Role,
    api_keys::resolvers::{ApiKeyMutation, ApiKeyQuery},
    alerts::{resolvers::{AlertMutation, AlertQuery, AlertSubscription}, types::Alert},
    attachments::{resolvers::AttachmentMutation, types::Attachment},
    audit::resolvers::AuditQuery,
    claims::{resolvers::{ClaimMutation, ClaimQuery}, types::Claim},
    commissions::{resolvers::{CommissionMutation, CommissionQuery}, types::CommissionRate},
    payments::{resolvers::PaymentMutation, types::{Instalment, Payment}},
    auth::{resolvers::{AuthMutation, AuthQuery}, types::Session},
    clients::{resolvers::{ClientMutation, ClientQuery}, types::Client},
    companies::{resolvers::{CompanyMutation, CompanyQuery}, types::Company},
    graphql::{context::ContextExt, ids},
    declarations::{resolvers::{DeclarationMutation, DeclarationQuery}, types::DeclarationBatch},
    documents::{resolvers::{DocumentMutation, DocumentQuery}, types::Document},
    entities::{alert, attachment, claim, client, company, document, job, organization, outbox, policy, template, template_version, user},
    jobs::{resolvers::{JobMutation, JobQuery, JobSubscription}, types::Job},
    mail::{resolvers::{MailMutation, MailQuery}, types::Message},
    integrations::{resolvers::IntegrationMutation, types::DeclarationDelivery},
    templates::{resolvers::{TemplateMutation, TemplateQuery}, types::{Template, TemplateVersion}},
    error::AppError,
    organizations::{resolvers::{OrganizationMutation, OrganizationQuery}, types::Organization},
    policies::{resolvers::{PolicyMutation, PolicyQuery}, types::Policy},
    portfolio::resolvers::PortfolioQuery,
    schedules::{resolvers::{ScheduleMutation, ScheduleQuery}, types::ReportSchedule},
    scope,
    users::{resolvers::{UserMutation, UserQuery}, types::User},
};

/// Any object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global ID."))]
pub enum Node {
    Organization(Organization),
    User(User),
    Session(Session),
    Company(Company),
    Client(Client),
    Policy(Policy),
    Claim(Claim),
    CommissionRate(CommissionRate),
    DeclarationBatch(DeclarationBatch),
    Instalment(Instalment),
    Payment(Payment),
    Alert(Alert),
    ReportSchedule(ReportSchedule),
    Template(Template),
    TemplateVersion(TemplateVersion),
    Document(Document),
    Attachment(Attachment),
    Job(Job),
    Message(Message),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID; outside what the caller may read it is `NOT_FOUND`.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let p = ctx.principal()?;
        let db = &ctx.state().db;
        let not_found = || AppError::NotFound("Node");
        let (kind, key) = ids::decode_any(&id).ok_or_else(not_found)?;
        let node = match kind.as_str() {
            "Organization" => {
                Node::Organization(Organization(scope::one(db, scope::organizations(p), organization::Column::Id, key, "Node").await?))
            }
            "User" => {
                // Below ADMIN, a caller reads only themselves.
                if key != p.user_id && p.role < Role::Admin {
                    return Err(not_found().into());
                }
                Node::User(User::new(scope::one(db, scope::users(p), user::Column::Id, key, "Node").await?))
            }
            "Session" => {
                use sea_orm::{ColumnTrait, QueryFilter};
                let s = scope::own_sessions(p)
                    .filter(crate::entities::session::Column::Id.eq(key))
                    .one(db)
                    .await
                    .map_err(AppError::from)?
                    .ok_or_else(not_found)?;
                Node::Session(Session::new(s))
            }
            "Company" => Node::Company(Company(scope::one(db, scope::companies(p), company::Column::Id, key, "Node").await?)),
            "Client" => Node::Client(Client(scope::one(db, scope::clients(p), client::Column::Id, key, "Node").await?)),
            "Policy" => Node::Policy(Policy(scope::one(db, scope::policies(p), policy::Column::Id, key, "Node").await?)),
            "ReportSchedule" => Node::ReportSchedule(ReportSchedule(crate::schedules::service::get(db, p, key).await?)),
            "Alert" => Node::Alert(Alert(scope::one(db, scope::alerts(p), alert::Column::Id, key, "Node").await?)),
            "CommissionRate" => {
                use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
                let companies = scope::companies(p).select_only().column(company::Column::Id).into_query();
                let rate = crate::entities::commission_rate::Entity::find_by_id(key)
                    .filter(crate::entities::commission_rate::Column::CompanyId.in_subquery(companies))
                    .one(db)
                    .await
                    .map_err(AppError::from)?
                    .ok_or_else(not_found)?;
                Node::CommissionRate(CommissionRate(rate))
            }
            "DeclarationBatch" => {
                // Bordereaux are MANAGER work: below, they do not exist.
                if p.role < Role::Manager {
                    return Err(not_found().into());
                }
                Node::DeclarationBatch(DeclarationBatch(crate::declarations::service::get(db, p, key).await?))
            }
            "Claim" => Node::Claim(Claim(scope::one(db, scope::claims(p), claim::Column::Id, key, "Node").await?)),
            "Instalment" => {
                let (row, currency) = crate::payments::service::instalment(db, p, key).await?;
                Node::Instalment(Instalment { row, currency })
            }
            "Payment" => Node::Payment(Payment(crate::payments::service::get(db, p, key).await?)),
            "Template" => Node::Template(Template(scope::one(db, scope::templates(p), template::Column::Id, key, "Node").await?)),
            "TemplateVersion" => {
                use sea_orm::EntityTrait;
                let v = template_version::Entity::find_by_id(key).one(db).await.map_err(AppError::from)?.ok_or_else(not_found)?;
                scope::one(db, scope::templates(p), template::Column::Id, v.template_id, "Node").await?;
                Node::TemplateVersion(TemplateVersion(v))
            }
            "Document" => Node::Document(Document(scope::one(db, scope::documents(p), document::Column::Id, key, "Node").await?)),
            "Attachment" => {
                Node::Attachment(Attachment(scope::one(db, scope::attachments(p), attachment::Column::Id, key, "Node").await?))
            }
            "Job" => Node::Job(Job(scope::one(db, scope::jobs(p), job::Column::Id, key, "Node").await?)),
            "Message" => {
                // Only ADMINs read messages.
                if p.role < Role::Admin {
                    return Err(not_found().into());
                }
                Node::Message(Message(scope::one(db, scope::messages(p), outbox::Column::Id, key, "Node").await?))
            }
            _ => return Err(not_found().into()),
        };
        Ok(Some(node))
    }
}

/// Every query.
#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    AuthQuery,
    UserQuery,
    OrganizationQuery,
    ApiKeyQuery,
    AuditQuery,
    CompanyQuery,
    ClientQuery,
    PolicyQuery,
    PortfolioQuery,
    ClaimQuery,
    CommissionQuery,
    DeclarationQuery,
    AlertQuery,
    TemplateQuery,
    DocumentQuery,
    JobQuery,
    ScheduleQuery,
    MailQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    UserMutation,
    OrganizationMutation,
    ApiKeyMutation,
    CompanyMutation,
    ClientMutation,
    PolicyMutation,
    ClaimMutation,
    CommissionMutation,
    DeclarationMutation,
    PaymentMutation,
    AlertMutation,
    TemplateMutation,
    DocumentMutation,
    AttachmentMutation,
    JobMutation,
    ScheduleMutation,
    MailMutation,
    IntegrationMutation,
);

/// Every subscription.
#[derive(MergedSubscription, Default)]
pub struct Subscription(JobSubscription, AlertSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The bare schema: types and error codes, no data and no limits.
pub fn schema() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .register_output_type::<Node>()
        // Listed by `DeclarationBatch.deliveries`; registered here so the type is in the schema on its own.
        .register_output_type::<DeclarationDelivery>()
}

/// The served schema: the abuse limits of the settings that async-graphql checks itself (depth,
/// complexity, nesting, directives), introspection and suggestions off in production. It has no
/// extension: what every operation passes (rate limit, persisted operations, limits, error codes,
/// metrics) is `http::pipeline`, run once per operation rather than around every field.
pub fn schema_with(state: &crate::state::AppState) -> anyhow::Result<AppSchema> {
    let settings = &state.settings;
    let limits = &settings.limits;
    let mut builder = schema().data(state.clone());
    if limits.max_depth > 0 {
        builder = builder.limit_depth(limits.max_depth);
    }
    if limits.max_complexity > 0 {
        builder = builder.limit_complexity(limits.max_complexity);
    }
    // Deeper nesting is refused before parsing (`QUERY_TOO_COMPLEX`); these stay above it.
    builder = builder.limit_recursive_depth(crate::graphql::limits::max_nesting(limits) + 2);
    if limits.max_directives > 0 {
        builder = builder.limit_directives(limits.max_directives);
    }
    if !settings.graphql_introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    Ok(builder.finish())
}

/// The subscriptions run once for every subscriber who sees the same thing (`graphql::shared`).
pub fn shared_subscriptions() -> Vec<crate::graphql::shared::SharedField> {
    vec![crate::jobs::resolvers::SHARED_JOB_EVENTS]
}

/// The printed SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema().finish().sdl()
}

