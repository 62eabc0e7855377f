//! Who may see and do what, once for every dialect. Follows Glance's secure-RBAC
//! defaults: `admin` ⊃ `member` ⊃ `reader`; writes are for members of the owning
//! project (or admins); an image the caller cannot see is *not found*, an image it
//! can see but not change is *forbidden*.

use crate::context::Caller;
use crate::error::{Denial, DomainError, DomainResult, Problem};

fn denied(denial: Denial) -> DomainError {
    DomainError::Forbidden(Problem::Denied(denial))
}
use crate::image::{Image, Visibility};
use crate::member::Member;

/// Can `caller` see `image` at all? `membership` is the caller project's member
/// entry on the image, if any (any status counts, as in Glance).
pub fn can_see(caller: &Caller, image: &Image, membership: Option<&Member>) -> bool {
    if image.status.is_gone() {
        return false;
    }
    if caller.is_admin() || image.owner.is_none() {
        return true;
    }
    match image.visibility {
        Visibility::Public | Visibility::Community => true,
        _ if is_owner(caller, image) => true,
        Visibility::Shared => membership.is_some(),
        Visibility::Private => false,
    }
}

pub fn is_owner(caller: &Caller, image: &Image) -> bool {
    matches!((caller.project(), image.owner.as_deref()), (Some(p), Some(o)) if p == o)
}

/// Any authenticated caller (with a user or a project), whatever its roles.
pub fn require_authenticated(caller: &Caller) -> DomainResult<()> {
    if caller.user_id.is_some() || caller.project_id.is_some() || caller.is_admin() {
        Ok(())
    } else {
        Err(DomainError::Unauthenticated("Authentication is required.".into()))
    }
}

/// Reading anything needs at least the reader role.
pub fn require_reader(caller: &Caller) -> DomainResult<()> {
    if caller.is_reader() {
        Ok(())
    } else {
        Err(denied(Denial::Read))
    }
}

/// Changing an image (metadata, data, tags, members, status) needs `member` in the
/// owning project, or `admin`.
pub fn require_modify(caller: &Caller, image: &Image) -> DomainResult<()> {
    may_change(caller, image, false)
}

/// Whether `caller` may change (or, with `delete`, delete) `image`: a member of
/// its project, or an admin. A caller of the owning project without the member
/// role lacks a role; any other caller is not the owner.
fn may_change(caller: &Caller, image: &Image, delete: bool) -> DomainResult<()> {
    let own = is_owner(caller, image) || image.owner.is_none();
    if caller.is_admin() || (caller.is_member() && own) {
        return Ok(());
    }
    let denial = match (own, delete) {
        (true, _) => Denial::MissingRole { image: image.id, delete },
        (false, false) => Denial::Modify { image: image.id },
        (false, true) => Denial::Delete { image: image.id },
    };
    Err(denied(denial))
}

pub fn require_delete(caller: &Caller, image: &Image) -> DomainResult<()> {
    may_change(caller, image, true)?;
    if image.protected {
        return Err(DomainError::Forbidden(Problem::Protected { image: image.id }));
    }
    Ok(())
}

/// Creating an image for `owner` needs `member` of that project, or `admin`.
pub fn require_create(caller: &Caller, owner: Option<&str>) -> DomainResult<()> {
    if caller.is_admin() {
        return Ok(());
    }
    if !caller.is_member() {
        return Err(denied(Denial::Create));
    }
    match (owner, caller.project()) {
        (Some(o), Some(p)) if o == p => Ok(()),
        (Some(o), _) => Err(denied(Denial::CreateOwnedBy { owner: o.to_string() })),
        (None, _) => Err(denied(Denial::CreateWithoutOwner)),
    }
}

/// Setting a visibility: `public` is admin-only (publicize_image); `community` is
/// for the owner or an admin (communitize_image).
pub fn require_visibility(caller: &Caller, image: Option<&Image>, visibility: Visibility) -> DomainResult<()> {
    match visibility {
        Visibility::Public if !caller.is_admin() => Err(denied(Denial::Publicize)),
        Visibility::Community if !caller.is_admin() && !caller.is_member() => Err(denied(Denial::Communitize)),
        _ => {
            let _ = image;
            Ok(())
        }
    }
}

/// Downloading needs `member` (readers may only look), and a deactivated image is
/// for admins only.
pub fn require_download(caller: &Caller, image: &Image) -> DomainResult<()> {
    if !caller.is_member() {
        return Err(denied(Denial::Download));
    }
    if image.status == crate::image::ImageStatus::Deactivated && !caller.is_admin() {
        return Err(denied(Denial::DownloadDeactivated));
    }
    Ok(())
}

/// Changing a membership status is for the member project itself (or an admin);
/// the owner may not accept on the member's behalf.
pub fn require_member_status_change(caller: &Caller, member_id: &str) -> DomainResult<()> {
    if caller.is_admin() || (caller.is_member() && caller.project() == Some(member_id)) {
        Ok(())
    } else {
        Err(denied(Denial::MemberStatus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageStatus;
    use crate::member::MemberStatus;
    use crate::time::now;
    use uuid::Uuid;

    fn caller(project: &str, roles: &[&str]) -> Caller {
        Caller::new(Some("u".into()), Some(project.into()), roles.iter().map(|r| r.to_string()))
    }

    fn image(owner: &str, vis: Visibility) -> Image {
        let mut i = Image::new(Uuid::new_v4(), Some(owner.into()), now());
        i.visibility = vis;
        i
    }

    #[test]
    fn visibility_rules() {
        let alice = caller("a", &["member"]);
        let bob = caller("b", &["member"]);
        let admin = caller("x", &["admin"]);
        for vis in Visibility::ALL {
            let img = image("a", vis);
            assert!(can_see(&alice, &img, None));
            assert!(can_see(&admin, &img, None));
            let expected = matches!(vis, Visibility::Public | Visibility::Community);
            assert_eq!(can_see(&bob, &img, None), expected, "{vis}");
        }
        let shared = image("a", Visibility::Shared);
        let m = Member { image_id: shared.id, member_id: "b".into(), status: MemberStatus::Pending, created_at: now(), updated_at: now() };
        assert!(can_see(&bob, &shared, Some(&m)));
        let mut gone = image("a", Visibility::Public);
        gone.status = ImageStatus::Deleted;
        assert!(!can_see(&admin, &gone, None));
    }

    #[test]
    fn writes_need_member_of_owner() {
        let img = image("a", Visibility::Public);
        assert!(require_modify(&caller("a", &["member"]), &img).is_ok());
        assert!(require_modify(&caller("a", &["reader"]), &img).is_err());
        assert!(require_modify(&caller("b", &["member"]), &img).is_err());
        assert!(require_modify(&caller("b", &["admin"]), &img).is_ok());
        assert!(require_visibility(&caller("a", &["member"]), Some(&img), Visibility::Public).is_err());
        assert!(require_create(&caller("a", &["member"]), Some("b")).is_err());
        assert!(require_create(&caller("a", &["reader"]), Some("a")).is_err());
    }
}
