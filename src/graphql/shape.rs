//! Reading a request's document against the schema's types: which field a response key names,
//! and what type it has. Used by the rules that look at a whole document (read scopes) or at a
//! whole response (non-null fields).

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaTypeName, Registry};

/// The operation a request runs: the named one, or the only one.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            .map(|(_, op)| &op.node),
        None => {
            let mut all = document.operations.iter();
            let first = all.next().map(|(_, op)| &op.node);
            if all.next().is_some() { None } else { first }
        }
    }
}

/// The schema's root type for an operation.
pub fn root_type(registry: &Registry, ty: OperationType) -> Option<&str> {
    match ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => registry.subscription_type.as_deref(),
    }
}

/// Every field selected in `sets`, through inline fragments and fragment spreads (each
/// fragment followed once).
pub fn selected_fields<'a>(
    document: &'a ExecutableDocument,
    sets: &[&'a SelectionSet],
) -> Vec<&'a Field> {
    let mut fields = Vec::new();
    let mut pending: Vec<&SelectionSet> = sets.to_vec();
    let mut spread: Vec<&str> = Vec::new();
    while let Some(set) = pending.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => fields.push(&field.node),
                Selection::InlineFragment(fragment) => {
                    pending.push(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if spread.contains(&name) {
                        continue;
                    }
                    spread.push(name);
                    if let Some(fragment) = document.fragments.get(name) {
                        pending.push(&fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
    fields
}

/// The named type at the bottom of a type reference (`[Lead!]!` → `Lead`).
pub fn named_type(ty: &str) -> &str {
    MetaTypeName::concrete_typename(ty)
}

/// Whether a type reference is non-null (`Lead!`, `[Lead]!`).
pub fn is_non_null(ty: &str) -> bool {
    MetaTypeName::create(ty).is_non_null()
}

/// The item type of a list type reference (`[Lead!]!` → `Lead!`).
pub fn list_item(ty: &str) -> Option<&str> {
    match MetaTypeName::create(ty).unwrap_non_null() {
        MetaTypeName::List(item) => Some(item),
        _ => None,
    }
}

/// The type of field `name` of the object or interface `type_name`.
pub fn field_type<'r>(registry: &'r Registry, type_name: &str, name: &str) -> Option<&'r str> {
    registry
        .types
        .get(type_name)?
        .field_by_name(name)
        .map(|f| f.ty.as_str())
}
