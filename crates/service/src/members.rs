//! Sharing: members of `shared` images and their acceptance status.

use imagery_core::policy;
use imagery_core::ports::CatalogError;
use imagery_core::rules;
use imagery_core::time::now;
use imagery_core::{Caller, Counted, DomainError, DomainResult, Member, MemberStatus, Problem, Visibility};
use uuid::Uuid;

use crate::{backend, ImageService};

impl ImageService {
    pub async fn add_member(&self, caller: &Caller, image_id: Uuid, member_id: &str) -> DomainResult<Member> {
        let (image, _) = self.visible_image(caller, image_id).await?;
        policy::require_modify(caller, &image)
            .map_err(|_| DomainError::Forbidden("You are not permitted to add members to this image.".into()))?;
        if image.visibility != Visibility::Shared {
            return Err(DomainError::Forbidden("Only shared images have members.".into()));
        }
        rules::check_member_id(member_id)?;
        let existing = self.catalog.list_members(image_id).await.map_err(backend)?;
        if existing.iter().any(|m| m.member_id == member_id) {
            return Err(DomainError::Conflict(format!("Member {member_id} already exists for image {image_id}.").into()));
        }
        if existing.len() >= self.config.image_member_quota {
            let limit = i64::try_from(self.config.image_member_quota).unwrap_or(i64::MAX);
            return Err(DomainError::OverLimit(Problem::Quota { what: Counted::Members, limit }));
        }
        let t = now();
        let member = Member { image_id, member_id: member_id.to_string(), status: MemberStatus::Pending, created_at: t, updated_at: t };
        match self.catalog.insert_member(&member).await {
            Ok(()) => Ok(member),
            Err(CatalogError::Duplicate(_)) => {
                Err(DomainError::Conflict(format!("Member {member_id} already exists for image {image_id}.").into()))
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// The owner (or an admin) sees every member; a member sees only itself.
    pub async fn list_members(&self, caller: &Caller, image_id: Uuid) -> DomainResult<Vec<Member>> {
        policy::require_reader(caller)?;
        let (image, membership) = self.visible_image(caller, image_id).await?;
        if image.visibility != Visibility::Shared {
            return Err(DomainError::Forbidden("Only shared images have members.".into()));
        }
        if caller.is_admin() || policy::is_owner(caller, &image) {
            return self.catalog.list_members(image_id).await.map_err(backend);
        }
        Ok(membership.into_iter().collect())
    }

    pub async fn show_member(&self, caller: &Caller, image_id: Uuid, member_id: &str) -> DomainResult<Member> {
        let not_found = || DomainError::NotFound(format!("Member {member_id} not found for image {image_id}.").into());
        policy::require_reader(caller).map_err(|_| not_found())?;
        let (image, _) = self.visible_image(caller, image_id).await?;
        let allowed = caller.is_admin() || policy::is_owner(caller, &image) || caller.project() == Some(member_id);
        if !allowed {
            return Err(not_found());
        }
        self.catalog.get_member(image_id, member_id).await.map_err(backend)?.ok_or_else(not_found)
    }

    pub async fn set_member_status(&self, caller: &Caller, image_id: Uuid, member_id: &str, status: MemberStatus) -> DomainResult<Member> {
        let (_image, _) = self.visible_image(caller, image_id).await?;
        let mut member = self
            .catalog
            .get_member(image_id, member_id)
            .await
            .map_err(backend)?
            .ok_or_else(|| DomainError::NotFound(format!("Member {member_id} not found for image {image_id}.").into()))?;
        policy::require_member_status_change(caller, member_id)?;
        member.status = status;
        member.updated_at = now();
        self.catalog.update_member(&member).await.map_err(backend)?;
        Ok(member)
    }

    pub async fn remove_member(&self, caller: &Caller, image_id: Uuid, member_id: &str) -> DomainResult<()> {
        let (image, _) = self.visible_image(caller, image_id).await?;
        policy::require_modify(caller, &image)
            .map_err(|_| DomainError::Forbidden("You are not permitted to remove members of this image.".into()))?;
        if self.catalog.delete_member(image_id, member_id).await.map_err(backend)? {
            Ok(())
        } else {
            Err(DomainError::NotFound(format!("Member {member_id} not found for image {image_id}.").into()))
        }
    }
}
