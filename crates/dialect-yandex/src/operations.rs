//! Operations: what Create, Update and Delete return, persisted with the service
//! (dialect `yandex`, target = the image UUID) so a poll after a restart still
//! answers, found again by idempotency key, and settled on read: an import from
//! a URI is done when its image is active, and failed when it is not importing
//! any more (this holds across restarts, where an interrupted import stops).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use imagery_core::operation::OperationRecord;
use imagery_core::time::{now, Timestamp};
use imagery_core::{DomainError, ImageStatus};
use prost::Message;
use serde::{Deserialize, Serialize};
use tonic::Code;
use uuid::Uuid;

use crate::api_server::Call;
use crate::error::{YcError, YcResult};
use crate::ids;
use crate::json::TYPE_URL_PREFIX;
use crate::keys::Ids;
use crate::pb::google::rpc::Status;
use crate::pb::yandex::cloud::compute::v1 as compute;
use crate::pb::yandex::cloud::operation as op_pb;
use crate::validation::{self, Checks};
use crate::views;

pub const DIALECT: &str = "yandex";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Create,
    Update,
    Delete,
}

impl OpKind {
    pub fn description(self) -> &'static str {
        match self {
            OpKind::Create => "Create image",
            OpKind::Update => "Update image",
            OpKind::Delete => "Delete image",
        }
    }

    pub fn metadata_type(self) -> &'static str {
        match self {
            OpKind::Create => "yandex.cloud.compute.v1.CreateImageMetadata",
            OpKind::Update => "yandex.cloud.compute.v1.UpdateImageMetadata",
            OpKind::Delete => "yandex.cloud.compute.v1.DeleteImageMetadata",
        }
    }
}

/// What the catalog keeps for one operation (`OperationRecord::payload`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    kind: OpKind,
    /// The Yandex id of the image (the record's target is its UUID).
    image_id: String,
    /// Set while an import from `source_uri` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_uri: Option<String>,
    /// The finished image: protobuf `yandex.cloud.compute.v1.Image`, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<StoredError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredError {
    code: i32,
    message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pending,
    Image(Box<compute::Image>),
    /// `google.protobuf.Empty` (Delete).
    Empty,
    Failed(YcError),
}

/// An operation as both wires show it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationView {
    pub id: String,
    pub description: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub modified_at: Timestamp,
    pub done: bool,
    pub kind: OpKind,
    pub image_id: String,
    pub outcome: Outcome,
}

fn any(type_name: &str, value: Vec<u8>) -> prost_types::Any {
    prost_types::Any { type_url: format!("{TYPE_URL_PREFIX}{type_name}"), value }
}

impl OperationView {
    pub fn to_proto(&self) -> op_pb::Operation {
        let metadata = compute::CreateImageMetadata { image_id: self.image_id.clone() }.encode_to_vec();
        let result = match &self.outcome {
            Outcome::Pending => None,
            Outcome::Image(image) => Some(op_pb::operation::Result::Response(any("yandex.cloud.compute.v1.Image", image.encode_to_vec()))),
            Outcome::Empty => Some(op_pb::operation::Result::Response(any("google.protobuf.Empty", Vec::new()))),
            Outcome::Failed(err) => {
                Some(op_pb::operation::Result::Error(Status { code: err.code as i32, message: err.message.clone(), details: Vec::new() }))
            }
        };
        op_pb::Operation {
            id: self.id.clone(),
            description: self.description.clone(),
            created_at: Some(views::timestamp(&self.created_at)),
            created_by: self.created_by.clone(),
            modified_at: Some(views::timestamp(&self.modified_at)),
            done: self.done,
            // The three metadata messages have the same single field, so one encoding serves.
            metadata: Some(any(self.kind.metadata_type(), metadata)),
            result,
        }
    }
}

fn corrupt(id: &str) -> YcError {
    tracing::error!(operation = id, "unreadable yandex operation payload");
    YcError::new(Code::Internal, format!("Operation {id} cannot be read"))
}

fn payload_of(record: &OperationRecord) -> YcResult<Payload> {
    serde_json::from_value(record.payload.clone()).map_err(|_| corrupt(&record.id))
}

fn view(record: &OperationRecord, payload: &Payload) -> YcResult<OperationView> {
    let outcome = if let Some(err) = &payload.error {
        Outcome::Failed(YcError::new(Code::from(err.code), err.message.clone()))
    } else if !record.done {
        Outcome::Pending
    } else if payload.kind == OpKind::Delete {
        Outcome::Empty
    } else {
        let bytes = payload.image.as_deref().and_then(|b| STANDARD.decode(b).ok()).ok_or_else(|| corrupt(&record.id))?;
        Outcome::Image(Box::new(compute::Image::decode(bytes.as_slice()).map_err(|_| corrupt(&record.id))?))
    };
    Ok(OperationView {
        id: record.id.clone(),
        description: record.description.clone(),
        created_at: record.created_at,
        created_by: record.created_by.clone(),
        modified_at: record.modified_at,
        done: record.done,
        kind: payload.kind,
        image_id: payload.image_id.clone(),
        outcome,
    })
}

fn settle_payload(payload: &mut Payload, outcome: &Outcome) {
    match outcome {
        Outcome::Image(image) => payload.image = Some(STANDARD.encode(image.encode_to_vec())),
        Outcome::Failed(err) => payload.error = Some(StoredError { code: err.code as i32, message: err.message.clone() }),
        Outcome::Empty | Outcome::Pending => {}
    }
}

/// The idempotency key a call carries, if any.
fn idempotency_key(call: &Call) -> YcResult<Option<&str>> {
    match call.idempotency_key.as_deref() {
        Some(key) if key.len() > 256 => Err(YcError::invalid("Idempotency-Key must be at most 256 characters")),
        other => Ok(other),
    }
}

/// The operation an earlier call with the same idempotency key started in `project`.
pub async fn repeated(call: &Call, project: &str) -> YcResult<Option<OperationView>> {
    let Some(key) = idempotency_key(call)? else {
        return Ok(None);
    };
    match call.service().operation_by_idempotency_key(&call.caller, DIALECT, project, key).await? {
        Some(record) => Ok(Some(settle(call, record).await?)),
        None => Ok(None),
    }
}

/// Persist a new operation on `image` (already acted upon) and return it. A
/// concurrent call with the same idempotency key that recorded first wins.
pub async fn record(
    call: &Call,
    project: &str,
    image: Uuid,
    kind: OpKind,
    image_id: &str,
    outcome: Outcome,
    source_uri: Option<String>,
) -> YcResult<OperationView> {
    let t = now();
    let mut payload = Payload { kind, image_id: image_id.to_string(), source_uri, image: None, error: None };
    settle_payload(&mut payload, &outcome);
    let record = OperationRecord {
        id: ids::new_operation_id(),
        dialect: DIALECT.into(),
        project_id: project.to_string(),
        target: Some(image.to_string()),
        description: kind.description().into(),
        created_by: call.caller.user_id.clone().unwrap_or_default(),
        created_at: t,
        modified_at: t,
        done: outcome != Outcome::Pending,
        payload: serde_json::to_value(&payload).map_err(|_| corrupt("new"))?,
        idempotency_key: idempotency_key(call)?.map(str::to_string),
    };
    match call.service().record_operation(&call.caller, &record).await {
        Ok(()) => view(&record, &payload),
        Err(DomainError::Conflict(_)) => match repeated(call, project).await? {
            Some(existing) => Ok(existing),
            None => Err(YcError::new(Code::Aborted, "The operation could not be recorded; retry the request")),
        },
        Err(other) => Err(other.into()),
    }
}

/// Bring a pending import's operation up to date with its image, storing the result.
async fn settle(call: &Call, mut record: OperationRecord) -> YcResult<OperationView> {
    let mut payload = payload_of(&record)?;
    let image = record.target.as_deref().and_then(|t| Uuid::parse_str(t).ok());
    let (Some(uri), Some(image), false) = (payload.source_uri.clone(), image, record.done) else {
        return view(&record, &payload);
    };
    let service = call.service();
    let outcome = match service.show_image(&call.caller, image).await {
        Ok(img) if img.status == ImageStatus::Importing => return view(&record, &payload),
        Ok(img) if img.status == ImageStatus::Active => Outcome::Image(Box::new(views::image(&mut Ids::of(call), &img).await?)),
        Ok(img) => {
            let reason =
                img.reserved(imagery_service::IMPORT_ERROR).unwrap_or("the data could not be fetched or is not a usable disk image");
            Outcome::Failed(YcError::new(Code::FailedPrecondition, format!("Image import from {uri} failed: {reason}")))
        }
        Err(DomainError::NotFound(_)) => {
            Outcome::Failed(YcError::not_found(format!("Image {} was deleted before its import finished", payload.image_id)))
        }
        Err(other) => return Err(other.into()),
    };
    settle_payload(&mut payload, &outcome);
    finish(call, &mut record, &payload).await?;
    view(&record, &payload)
}

async fn finish(call: &Call, record: &mut OperationRecord, payload: &Payload) -> YcResult<()> {
    record.done = true;
    record.modified_at = now();
    record.payload = serde_json::to_value(payload).map_err(|_| corrupt(&record.id))?;
    call.service().update_operation(&call.caller, record).await?;
    Ok(())
}

pub async fn get(call: &Call, operation_id: &str) -> YcResult<OperationView> {
    Checks::default().id("operation_id", operation_id).check()?;
    let record = call.service().operation(&call.caller, DIALECT, operation_id).await?;
    settle(call, record).await
}

/// Best effort, as in Yandex: only a running import can be stopped (its image is
/// deleted); anything else is returned as it is.
pub async fn cancel(call: &Call, operation_id: &str) -> YcResult<OperationView> {
    Checks::default().id("operation_id", operation_id).check()?;
    let record = call.service().operation(&call.caller, DIALECT, operation_id).await?;
    let current = settle(call, record.clone()).await?;
    if current.done {
        return Ok(current);
    }
    let mut record = call.service().operation(&call.caller, DIALECT, operation_id).await?;
    let mut payload = payload_of(&record)?;
    if let Some(image) = record.target.as_deref().and_then(|t| Uuid::parse_str(t).ok()) {
        call.service().delete_image(&call.caller, image).await?;
    }
    settle_payload(&mut payload, &Outcome::Failed(YcError::new(Code::Cancelled, "Operation cancelled")));
    finish(call, &mut record, &payload).await?;
    view(&record, &payload)
}

/// One page of an image's operations, newest first, and the next page token.
pub async fn of_image(call: &Call, image: Uuid, page_size: i64, page_token: &str) -> YcResult<(Vec<OperationView>, String)> {
    Checks::default().page(page_size, page_token).check()?;
    let limit = validation::page_size(page_size);
    let after = (!page_token.is_empty()).then_some(page_token);
    let mut records = call.service().operations_of(&call.caller, DIALECT, &image.to_string(), after, limit + 1).await?;
    let more = records.len() > limit;
    records.truncate(limit);
    let next = if more { records.last().map(|r| r.id.clone()).unwrap_or_default() } else { String::new() };
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        views.push(settle(call, record).await?);
    }
    Ok((views, next))
}
