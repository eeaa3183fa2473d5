"""Names of the grant competition's codes in a reader's language (types, stages, phases, groups).

Shared by the Telegram and SMS adapters, the reports and CSV files, and the dashboard.
"""

from __future__ import annotations

from bot.i18n import t
from models.communities import Community


def type_label(code: str, language: str) -> str:
    return {
        "individual": t("grants.type_individual", language),
        "company": t("grants.type_company", language),
        "cooperative": t("grants.type_cooperative", language),
        "ngo": t("grants.type_ngo", language),
        "initiative_group": t("grants.type_initiative_group", language),
        "municipal": t("grants.type_municipal", language),
    }.get(code, code)


def stage_label(code: str, language: str) -> str:
    return {
        "interested": t("grants.stage_interested", language),
        "idea_received": t("grants.stage_idea_received", language),
        "shortlisted": t("grants.stage_shortlisted", language),
        "not_shortlisted": t("grants.stage_not_shortlisted", language),
        "full_application": t("grants.stage_full_application", language),
        "interview": t("grants.stage_interview", language),
        "funded": t("grants.stage_funded", language),
        "not_funded": t("grants.stage_not_funded", language),
        "withdrawn": t("grants.stage_withdrawn", language),
    }.get(code, code)


def phase_label(code: str, language: str) -> str:
    return {
        "info_sessions": t("grants.phase_info_sessions", language),
        "idea_deadline": t("grants.phase_idea_deadline", language),
        "shortlist_at": t("grants.phase_shortlist_at", language),
        "training_at": t("grants.phase_training_at", language),
        "full_deadline": t("grants.phase_full_deadline", language),
        "interviews_at": t("grants.phase_interviews_at", language),
        "results_at": t("grants.phase_results_at", language),
        "contract_at": t("grants.phase_contract_at", language),
    }.get(code, code)


def sector_label(code: str, language: str) -> str:
    return {
        "public": t("grants.sector_public", language),
        "private": t("grants.sector_private", language),
        "civil": t("grants.sector_civil", language),
    }.get(code, t("grants.group_unknown", language))


def gender_label(code: str, language: str) -> str:
    return {
        "female": t("grants.gender_female", language),
        "male": t("grants.gender_male", language),
        "unsaid": t("grants.gender_unsaid", language),
    }.get(code, t("grants.group_unknown", language))


def youth_label(code: str, language: str, ages: tuple[int, int]) -> str:
    if code == "youth":
        return t("grants.youth_yes", language, low=ages[0], high=ages[1])
    if code == "adult":
        return t("grants.youth_no", language)
    return t("grants.group_unknown", language)


def dimension_label(code: str, language: str) -> str:
    return {
        "community": t("grants.dim_community", language),
        "sector": t("grants.dim_sector", language),
        "applicant_type": t("grants.dim_type", language),
        "gender": t("grants.dim_gender", language),
        "youth": t("grants.dim_youth", language),
    }.get(code, code)


def group_label(
    dimension: str,
    group: str,
    language: str,
    communities: dict[int, Community],
    ages: tuple[int, int],
) -> str:
    """One group of a breakdown (`community` "7", `sector` "civil", …) in words."""
    if dimension == "community":
        community = communities.get(int(group)) if group.isdigit() else None
        return community.name(language) if community else t("grants.group_unknown", language)
    if dimension == "sector":
        return sector_label(group, language)
    if dimension == "applicant_type":
        return type_label(group, language)
    if dimension == "gender":
        return gender_label(group, language)
    return youth_label(group, language, ages)
