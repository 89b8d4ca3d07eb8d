"""The role registry: each app declares its roles' grants (``<app>/roles.py``) and accounts reads them. The
permissions each role carries are exactly those of the single table accounts held before the registry (the
snapshot below, taken from it; data sources' permissions carry their new app label, ``sources``; lineage's external
assets, records and definition readings were added with their models), and the registry
finds every app's declarations without accounts naming any of their models."""
import ast
import re
from pathlib import Path

from accounts.roles import Role, permission_names, role_grants

SNAPSHOT = {
    "analyst": """
        accounts.view_membership accounts.view_workspace catalog.view_asset catalog.view_assetclassification
        catalog.view_classification catalog.view_glossaryterm catalog.view_lineageedge
        catalog.view_suggestion catalog.view_tag
        catalog.view_propertydefinition
        compliance.view_compliancerule compliance.view_finding compliance.view_framework
        compliance.view_score governance.add_request governance.view_request scanning.view_assetchange
        scanning.view_classificationrule scanning.view_scan scanning.view_scanruleset scanning.view_scanrun
        sources.view_datasource
        catalog.view_externalasset catalog.view_definitionlineage
    """.split(),
    "data_owner": """
        accounts.view_membership accounts.view_workspace catalog.add_asset catalog.add_assetclassification
        catalog.add_glossaryterm catalog.change_asset catalog.change_assetclassification
        catalog.change_glossaryterm catalog.classify_asset catalog.confirm_assetclassification
        catalog.view_asset catalog.view_assetclassification catalog.view_classification
        catalog.view_glossaryterm catalog.view_lineageedge
        catalog.view_suggestion catalog.view_tag compliance.acknowledge_finding
        catalog.view_propertydefinition
        compliance.add_finding compliance.change_finding compliance.view_compliancerule
        compliance.view_finding compliance.view_framework compliance.view_score governance.add_request
        governance.approve_request governance.change_request governance.view_request
        scanning.view_assetchange scanning.view_classificationrule scanning.view_scan
        scanning.view_scanruleset scanning.view_scanrun sources.view_datasource
        catalog.view_externalasset catalog.view_definitionlineage
    """.split(),
    "data_steward": """
        accounts.view_membership accounts.view_workspace catalog.add_asset catalog.add_assetclassification
        catalog.add_classification catalog.add_glossaryterm catalog.add_lineageedge catalog.add_tag
        catalog.change_asset catalog.change_assetclassification catalog.change_classification
        catalog.change_glossaryterm catalog.change_lineageedge catalog.change_tag catalog.classify_asset
        catalog.confirm_assetclassification catalog.delete_assetclassification catalog.delete_glossaryterm
        catalog.delete_lineageedge catalog.delete_tag catalog.view_asset catalog.view_assetclassification
        catalog.view_classification catalog.view_glossaryterm catalog.view_lineageedge
        catalog.view_suggestion catalog.view_tag
        catalog.add_propertydefinition catalog.change_propertydefinition
        catalog.delete_propertydefinition catalog.view_propertydefinition
        compliance.acknowledge_finding compliance.add_finding compliance.change_finding
        compliance.view_compliancerule compliance.view_finding compliance.view_framework
        compliance.view_score governance.add_request governance.change_request governance.view_request
        scanning.add_classificationrule scanning.add_scan scanning.add_scanruleset
        scanning.change_classificationrule scanning.change_scan scanning.change_scanruleset
        scanning.delete_classificationrule scanning.delete_scan scanning.delete_scanruleset
        scanning.run_scan scanning.view_assetchange scanning.view_classificationrule scanning.view_scan
        scanning.view_scanruleset scanning.view_scanrun sources.add_datasource sources.change_datasource
        sources.test_connection_datasource sources.view_datasource
        catalog.add_externalasset catalog.change_externalasset catalog.delete_externalasset catalog.view_externalasset
        catalog.view_definitionlineage
        catalog.add_lineagerecord catalog.change_lineagerecord catalog.delete_lineagerecord catalog.view_lineagerecord
    """.split(),
    "workspace_admin": """
        accounts.add_membership accounts.change_membership accounts.change_workspace
        accounts.delete_membership accounts.view_auditevent accounts.view_membership accounts.view_user
        accounts.view_workspace catalog.add_asset catalog.add_assetclassification catalog.add_classification
        catalog.add_glossaryterm catalog.add_lineageedge catalog.add_tag catalog.change_asset
        catalog.change_assetclassification catalog.change_classification catalog.change_glossaryterm
        catalog.change_lineageedge catalog.change_tag catalog.classify_asset
        catalog.confirm_assetclassification catalog.delete_assetclassification catalog.delete_glossaryterm
        catalog.delete_lineageedge catalog.delete_tag catalog.view_asset catalog.view_assetclassification
        catalog.view_classification catalog.view_glossaryterm catalog.view_lineageedge
        catalog.view_suggestion catalog.view_tag
        catalog.add_propertydefinition catalog.change_propertydefinition
        catalog.delete_propertydefinition catalog.view_propertydefinition
        compliance.acknowledge_finding compliance.add_compliancerule compliance.add_finding
        compliance.add_framework compliance.change_compliancerule compliance.change_finding
        compliance.change_framework compliance.delete_compliancerule compliance.view_compliancerule
        compliance.view_finding compliance.view_framework compliance.view_score governance.add_request
        governance.approve_request governance.change_request governance.delete_request
        governance.view_request scanning.add_classificationrule scanning.add_scan scanning.add_scanruleset
        scanning.change_classificationrule scanning.change_scan scanning.change_scanruleset
        scanning.delete_classificationrule scanning.delete_scan scanning.delete_scanruleset
        scanning.run_scan scanning.view_assetchange scanning.view_classificationrule scanning.view_scan
        scanning.view_scanruleset scanning.view_scanrun sources.add_datasource sources.change_datasource
        sources.delete_datasource sources.test_connection_datasource sources.view_datasource
        sources.view_secret_datasource
        catalog.add_externalasset catalog.change_externalasset catalog.delete_externalasset catalog.view_externalasset
        catalog.view_definitionlineage
        catalog.add_lineagerecord catalog.change_lineagerecord catalog.delete_lineagerecord catalog.view_lineagerecord
    """.split(),
    "auditor": """
        accounts.view_auditevent accounts.view_membership accounts.view_user accounts.view_workspace
        catalog.view_asset catalog.view_assetclassification catalog.view_classification
        catalog.view_glossaryterm catalog.view_lineageedge
        catalog.view_suggestion catalog.view_tag compliance.view_compliancerule
        catalog.view_propertydefinition
        compliance.view_finding compliance.view_framework compliance.view_score governance.view_request
        scanning.view_assetchange scanning.view_classificationrule scanning.view_scan
        scanning.view_scanruleset scanning.view_scanrun sources.view_datasource
        catalog.view_externalasset catalog.view_lineagerecord catalog.view_definitionlineage
    """.split(),
}


def test_every_role_carries_the_same_permissions_as_before_the_registry():
    assert set(role_grants()) == set(Role.values)
    assert {role: permission_names(role) for role in Role.values} == {role: sorted(names)
                                                                       for role, names in SNAPSHOT.items()}


def test_accounts_roles_names_no_model_of_a_higher_app():
    source = Path(__file__).resolve().parents[2] / "accounts" / "roles.py"
    strings = {node.value for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.Constant)
               and isinstance(node.value, str)}
    labels = {text.split(".")[0] for text in strings if re.fullmatch(r"[a-z_]+\.[a-z_]+", text)}
    assert labels <= {"accounts"}, labels
