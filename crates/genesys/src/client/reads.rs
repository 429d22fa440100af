//! The typed reads of the Platform API that `map --online`, `mappings pull` and the loader use.

use super::retry::CallKind;
use super::{ApiError, Client, enc};
use crate::model;
use serde::de::DeserializeOwned;

impl Client {
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> std::result::Result<T, ApiError> {
        self.call::<(), T>(reqwest::Method::GET, path, None, CallKind::Read)
            .await
    }

    /// Users whose e-mail is exactly `email` (trimmed and lower-cased here).
    pub async fn users_by_email(
        &self,
        email: &str,
    ) -> std::result::Result<Vec<model::User>, ApiError> {
        let q = model::UserSearchRequest::exact_email(&email.trim().to_lowercase());
        // A search is a read, even though it is a POST.
        let r: model::UsersSearchResponse = self
            .call(
                reqwest::Method::POST,
                "/api/v2/users/search",
                Some(&q),
                CallKind::Read,
            )
            .await?;
        Ok(r.results)
    }

    /// The management and business unit of an agent; `None` when the user is in no management unit.
    pub async fn agent_management_unit(
        &self,
        user_id: &str,
    ) -> std::result::Result<Option<model::AgentManagementUnitReference>, ApiError> {
        match self
            .get(&format!(
                "/api/v2/workforcemanagement/agents/{}/managementunit",
                enc(user_id)
            ))
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.status == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A management unit with its business unit (what the agent's management-unit answer may
    /// leave out; docs/genesys-contract.md); `None` when there is no such unit.
    pub async fn management_unit(
        &self,
        mu_id: &str,
    ) -> std::result::Result<Option<model::ManagementUnit>, ApiError> {
        match self
            .get(&format!(
                "/api/v2/workforcemanagement/managementunits/{}",
                enc(mu_id)
            ))
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.status == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A business unit's management units (`GET /businessunits/{buId}/managementunits`).
    pub async fn management_units(
        &self,
        bu_id: &str,
    ) -> std::result::Result<Vec<model::NamedEntity>, ApiError> {
        let l: model::Listing<model::NamedEntity> = self
            .get(&format!(
                "/api/v2/workforcemanagement/businessunits/{}/managementunits",
                enc(bu_id)
            ))
            .await?;
        Ok(l.entities)
    }

    /// The users of a management unit (`GET /managementunits/{muId}/users`, WfmUserEntityListing).
    pub async fn management_unit_users(
        &self,
        mu_id: &str,
    ) -> std::result::Result<Vec<model::UserReference>, ApiError> {
        let l: model::Listing<model::UserReference> = self
            .get(&format!(
                "/api/v2/workforcemanagement/managementunits/{}/users",
                enc(mu_id)
            ))
            .await?;
        Ok(l.entities)
    }

    /// Every business unit of the org (`GET /businessunits`).
    pub async fn business_units(&self) -> std::result::Result<Vec<model::NamedEntity>, ApiError> {
        let l: model::Listing<model::NamedEntity> = self
            .get("/api/v2/workforcemanagement/businessunits")
            .await?;
        Ok(l.entities)
    }

    /// A business unit with its settings (zone, first day of week).
    pub async fn business_unit(
        &self,
        bu_id: &str,
    ) -> std::result::Result<model::BusinessUnitResponse, ApiError> {
        self.get(&format!(
            "/api/v2/workforcemanagement/businessunits/{}?expand=settings",
            enc(bu_id)
        ))
        .await
    }

    /// A business unit's activity codes.
    pub async fn activity_codes(
        &self,
        bu_id: &str,
    ) -> std::result::Result<Vec<model::BusinessUnitActivityCode>, ApiError> {
        let l: model::Listing<model::BusinessUnitActivityCode> = self
            .get(&format!(
                "/api/v2/workforcemanagement/businessunits/{}/activitycodes",
                enc(bu_id)
            ))
            .await?;
        Ok(l.entities)
    }

    /// The shift trades of a management unit's week, asked with `evaluateMatches=false` (zd2gc
    /// links trades; it never needs Genesys to evaluate matches, which costs the server a review
    /// per trade). A large answer comes as a `downloadUrl` only: it is fetched (without the bearer
    /// token), never taken for a week without trades.
    pub async fn week_shift_trades(
        &self,
        mu_id: &str,
        week: &str,
    ) -> std::result::Result<Vec<model::ShiftTradeResponse>, ApiError> {
        let mut l: model::WeekShiftTradeListResponse = self
            .get(&format!(
                "/api/v2/workforcemanagement/managementunits/{}/weeks/{}/shifttrades?evaluateMatches=false",
                enc(mu_id),
                enc(week)
            ))
            .await?;
        if let Some(url) = l.download_url.take() {
            l = self.download(&url).await?;
        }
        Ok(l.entities.into_iter().map(|t| t.trade).collect())
    }
}
