//! The IMS image object: Glance's flat image (core attributes and custom
//! properties side by side) with Huawei's attributes added at the top level.
//! `min_disk`, `min_ram` and `size` are numbers, `protected` a boolean, every
//! `__*` attribute a string, as the SDK's models deserialise them.

use imagery_core::{Caller, Image};
use serde_json::Value;

use crate::attributes;

/// The flat IMS image object `caller` sees.
pub fn ims_image(img: &Image, caller: &Caller) -> Value {
    let mut view = imagery_dialect_glance::views::image(img);
    if let Value::Object(map) = &mut view {
        attributes::merge_into(map, img, Some(caller));
    }
    view
}
