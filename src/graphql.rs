//! The schema: merged queries and mutations, the Relay `Node` interface, and error codes for
//! parse and validation failures. `schema()` attaches no data, so the SDL test and the server share it.

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, ID, Interface, MergedObject, Object, Result, Schema, SchemaBuilder,
    ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::ExecutableDocument,
};

use crate::{
    auth::{
        principal::Role,
        resolvers::{AuthMutation, AuthQuery},
        types::Session,
    },
    clients::{
        resolvers::{ClientMutation, ClientQuery},
        types::Client,
    },
    companies::{
        resolvers::{CompanyMutation, CompanyQuery},
        types::Company,
    },
    context::ContextExt,
    entities::{client, company, organization, policy, user},
    error::AppError,
    ids,
    organizations::{resolvers::OrganizationQuery, types::Organization},
    policies::{
        resolvers::{PolicyMutation, PolicyQuery},
        types::Policy,
    },
    scope,
    users::{
        resolvers::{UserMutation, UserQuery},
        types::User,
    },
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
                Node::User(User(scope::one(db, scope::users(p), user::Column::Id, key, "Node").await?))
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
            _ => return Err(not_found().into()),
        };
        Ok(Some(node))
    }
}

/// Every query.
#[derive(MergedObject, Default)]
pub struct Query(NodeQuery, AuthQuery, UserQuery, OrganizationQuery, CompanyQuery, ClientQuery, PolicyQuery);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(AuthMutation, UserMutation, CompanyMutation, ClientMutation, PolicyMutation);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The bare schema: types and limits, no data.
pub fn schema() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .register_output_type::<Node>()
        .limit_depth(16)
        .limit_complexity(5_000)
        .limit_directives(10)
        .extension(ErrorCodes)
}

/// The printed SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema().finish().sdl()
}

/// Gives parse and validation errors their `extensions.code`: a wrong argument or variable value is
/// `BAD_USER_INPUT`, a too deep or too complex query `QUERY_TOO_COMPLEX`, anything else invalid
/// `GRAPHQL_VALIDATION_FAILED`.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

fn with_code(e: ServerError, code: &'static str) -> ServerError {
    let mut err = e;
    let has_code = err.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
    if !has_code {
        let ext = async_graphql::Error::new("").extend_with(|_, ext| ext.set("code", code)).extensions;
        err.extensions = ext;
    }
    err
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|e| with_code(e, "GRAPHQL_PARSE_FAILED"))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let code = if e.message.contains("too complex") || e.message.contains("too deep") {
                        "QUERY_TOO_COMPLEX"
                    } else if e.message.starts_with("Invalid value for argument") {
                        "BAD_USER_INPUT"
                    } else {
                        "GRAPHQL_VALIDATION_FAILED"
                    };
                    with_code(e, code)
                })
                .collect()
        })
    }
}
