//! Settings of this till kept in the device store's `settings` table (key/value): the store's
//! location, from which the distance to each delivery address is measured.

use crate::error::Result;
use crate::Device;
use dukkan_core::{CustomerId, GeoPoint};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

const STORE_LOCATION: &str = "store_location";
const TIME_ZONE: &str = "time_zone";

/// How far one of a customer's addresses is from the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AddressDistance {
    pub address_id: String,
    /// Great-circle (haversine) distance in kilometres.
    pub km: f64,
}

/// Stored as `{"latitude": .., "longitude": ..}`; read back through [`GeoPoint::new`] so a row
/// edited by hand cannot bring an invalid point into the app.
#[derive(Serialize, Deserialize)]
struct StoredPoint {
    latitude: f64,
    longitude: f64,
}

/// The value kept under `key` in the settings table, if any.
pub(crate) fn setting(c: &rusqlite::Connection, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

impl Device {
    /// The value kept under `key`, if any.
    fn setting(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| setting(c, key))
    }

    /// Where the store is, if a manager set it.
    pub fn store_location(&self) -> Result<Option<GeoPoint>> {
        let text = self.setting(STORE_LOCATION)?;
        let point = text
            .and_then(|t| serde_json::from_str::<StoredPoint>(&t).ok())
            .and_then(|p| GeoPoint::new(p.latitude, p.longitude).ok());
        Ok(point)
    }

    /// Saves the store's location as typed (decimal degrees, any digit script). On an error
    /// nothing is saved and the previous location is kept.
    pub fn set_store_location(&self, latitude: &str, longitude: &str) -> Result<GeoPoint> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        let point = GeoPoint::parse_text(latitude, longitude)?;
        let value = serde_json::json!({
            "latitude": point.latitude(),
            "longitude": point.longitude(),
        })
        .to_string();
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![STORE_LOCATION, value],
            )?;
            Ok(())
        })?;
        Ok(point)
    }

    /// The shop's time zone: the days dates are shown and exported in (Asia/Muscat until the
    /// shop's own setting is kept here; a stored name that is no zone reads as the default).
    pub fn time_zone(&self) -> Result<chrono_tz::Tz> {
        Ok(self
            .setting(TIME_ZONE)?
            .as_deref()
            .and_then(dukkan_core::time::time_zone)
            .unwrap_or(dukkan_core::time::DEFAULT_TIME_ZONE))
    }

    /// Forgets the store's location (no distances are shown any more).
    pub fn clear_store_location(&self) -> Result<()> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        self.write(|tx, _| {
            tx.execute("DELETE FROM settings WHERE key = ?1", [STORE_LOCATION])?;
            Ok(())
        })
    }

    /// The distance from the store to each of the customer's addresses that has GPS; empty when
    /// the store's location is not set.
    pub fn address_distances(&self, customer: CustomerId) -> Result<Vec<AddressDistance>> {
        self.authorize(dukkan_core::staff::Role::Cashier)?;
        let Some(store) = self.store_location()? else {
            return Ok(Vec::new());
        };
        let points: Vec<(String, f64, f64)> = self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, latitude, longitude FROM addresses
                 WHERE customer_id = ?1 AND latitude IS NOT NULL AND longitude IS NOT NULL
                 ORDER BY id",
            )?;
            let rows = stmt.query_map([customer.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        Ok(points
            .into_iter()
            .filter_map(|(address_id, lat, lon)| {
                let point = GeoPoint::new(lat, lon).ok()?;
                Some(AddressDistance {
                    address_id,
                    km: store.distance_km(&point),
                })
            })
            .collect())
    }
}
