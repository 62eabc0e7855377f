//! Unique image names within a project, for the clouds where a name is an
//! identifier (Yandex: a name is unique in its folder). The claim is an alternate
//! key `project/name → image`, so two nodes creating the same name at once cannot
//! both win; images named the same through a cloud without the rule (Glance) count
//! as taken too.

use imagery_core::ports::CatalogError;
use imagery_core::query::{Filter, ListQuery, ListScope, TextField};
use imagery_core::{DomainError, DomainResult, Problem};
use uuid::Uuid;

use crate::{backend, ImageService};

const NAMESPACE: &str = "image.name";
/// Attempts at reclaiming a stale claim before giving up (each one means another
/// writer changed the key in between).
const ATTEMPTS: usize = 5;

fn key(project: &str, name: &str) -> String {
    format!("{project}/{name}")
}

fn taken(name: &str) -> DomainError {
    DomainError::Conflict(Problem::NameTaken { name: name.to_string() })
}

impl ImageService {
    /// Claim `name` in `project` for `image`, or `Conflict(NameTaken)`.
    pub(crate) async fn claim_name(&self, project: &str, name: &str, image: Uuid) -> DomainResult<()> {
        if self.other_image_named(project, name, image).await? {
            return Err(taken(name));
        }
        let key = key(project, name);
        let target = image.to_string();
        for _ in 0..ATTEMPTS {
            match self.catalog.insert_alt_key(NAMESPACE, &key, &target).await {
                Ok(()) => return Ok(()),
                Err(CatalogError::Duplicate(_)) => {}
                Err(e) => return Err(backend(e)),
            }
            let Some(holder) = self.catalog.find_alt_key(NAMESPACE, &key).await.map_err(backend)? else {
                continue;
            };
            if holder == target {
                return Ok(());
            }
            // The holder may be gone or renamed since it claimed the name.
            let live = match Uuid::parse_str(&holder) {
                Ok(id) => self
                    .catalog
                    .get_image(id)
                    .await
                    .map_err(backend)?
                    .is_some_and(|i| !i.status.is_gone() && i.name.as_deref() == Some(name)),
                Err(_) => false,
            };
            if live {
                return Err(taken(name));
            }
            self.catalog.delete_alt_key_if(NAMESPACE, &key, &holder).await.map_err(backend)?;
        }
        Err(taken(name))
    }

    /// Give `name` back, if `image` holds it.
    pub(crate) async fn release_name(&self, project: &str, name: &str, image: Uuid) -> DomainResult<()> {
        self.catalog.delete_alt_key_if(NAMESPACE, &key(project, name), &image.to_string()).await.map_err(backend).map(|_| ())
    }

    /// Is there an image of `project` other than `except` with this name?
    async fn other_image_named(&self, project: &str, name: &str, except: Uuid) -> DomainResult<bool> {
        let mut query = ListQuery::new(ListScope::everything(), 2);
        query.filters = vec![Filter::In(TextField::Owner, vec![project.to_string()]), Filter::In(TextField::Name, vec![name.to_string()])];
        let found = self.catalog.list_images(&query).await.map_err(backend)?;
        Ok(found.iter().any(|i| i.id != except))
    }
}
