//! "May this caller do that?" for dialects whose cloud answers authorization
//! before anything else (ARM checks RBAC first): the service's policy, asked
//! ahead of the use case that will check it again.

use imagery_core::{policy, Caller, DomainResult, Image};

use crate::ImageService;

/// An action a dialect asks about.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Read anything (list, show).
    Read,
    /// Create images (or project-scoped records) in `project`.
    Create { project: &'a str },
    /// Change this image.
    Modify(&'a Image),
    /// Delete this image (a protected one is refused with `Problem::Protected`).
    Delete(&'a Image),
}

impl ImageService {
    pub fn authorize(&self, caller: &Caller, action: Action<'_>) -> DomainResult<()> {
        match action {
            Action::Read => policy::require_reader(caller),
            Action::Create { project } => policy::require_create(caller, Some(project)),
            Action::Modify(image) => policy::require_modify(caller, image),
            Action::Delete(image) => policy::require_delete(caller, image),
        }
    }
}
