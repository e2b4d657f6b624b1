//! Settings of this till kept in the device store's `settings` table (key/value): the store's
//! location, from which the distance to each delivery address is measured, and where the app
//! looks for new versions of itself.

use crate::error::Result;
use crate::Device;
use dukkan_core::{CustomerId, GeoPoint};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

const STORE_LOCATION: &str = "store_location";
pub(crate) const TIME_ZONE: &str = "time_zone";
/// The update feed a manager set on this till.
const UPDATE_FEED_OF_TILL: &str = "update_feed";
/// The update feed the shop's server announces with its roster.
pub(crate) const UPDATE_FEED_FROM_SERVER: &str = "update_feed_server";

/// Where this till asks for new versions of the app, and who said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UpdateFeed {
    pub url: String,
    /// `till`: set by a manager in Settings (it wins); `server`: announced by the shop's server.
    pub source: UpdateFeedSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum UpdateFeedSource {
    Till,
    Server,
}

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

/// Keeps `value` under `key` in the settings table (replacing what was there).
pub(crate) fn put_setting(c: &rusqlite::Connection, key: &str, value: &str) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Forgets what is kept under `key` in the settings table.
pub(crate) fn drop_setting(c: &rusqlite::Connection, key: &str) -> Result<()> {
    c.prepare_cached("DELETE FROM settings WHERE key = ?1")?
        .execute([key])?;
    Ok(())
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
        self.write(|tx, _| put_setting(tx, STORE_LOCATION, &value))?;
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

    /// Where this till asks for new versions of the app: the address a manager set here, else
    /// the one the shop's server announced; `None` when neither did (the app does not look).
    /// A stored value that is no longer an acceptable address (edited by hand) is ignored.
    pub fn update_feed(&self) -> Result<Option<UpdateFeed>> {
        for (key, source) in [
            (UPDATE_FEED_OF_TILL, UpdateFeedSource::Till),
            (UPDATE_FEED_FROM_SERVER, UpdateFeedSource::Server),
        ] {
            if let Some(url) = self
                .setting(key)?
                .and_then(|text| dukkan_core::net::update_feed(&text).ok())
            {
                return Ok(Some(UpdateFeed { url, source }));
            }
        }
        Ok(None)
    }

    /// Sets this till's own update feed (managers), which wins over the server's. On an error
    /// nothing is saved.
    pub fn set_update_feed(&self, url: &str) -> Result<UpdateFeed> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        let url = dukkan_core::net::update_feed(url)?;
        self.write_quietly(|tx, _| put_setting(tx, UPDATE_FEED_OF_TILL, &url))?;
        Ok(UpdateFeed {
            url,
            source: UpdateFeedSource::Till,
        })
    }

    /// Forgets this till's own update feed (managers): the server's applies again, if any.
    pub fn clear_update_feed(&self) -> Result<Option<UpdateFeed>> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        self.write_quietly(|tx, _| drop_setting(tx, UPDATE_FEED_OF_TILL))?;
        self.update_feed()
    }

    /// Forgets the store's location (no distances are shown any more).
    pub fn clear_store_location(&self) -> Result<()> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        self.write(|tx, _| drop_setting(tx, STORE_LOCATION))
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
