"""The body-system categories articles are filed under, defined once.

Created by a data migration; the importer refuses any other category name, so a typo
in a source file is caught rather than creating a near-duplicate category.
"""

BODY_SYSTEMS = [
    ("Blood", "blood", "Conditions of the blood and bone marrow, such as leukemia."),
    ("Bones, Joints & Muscles", "bones-joints-muscles", "Conditions of the bones, joints, muscles, tendons and ligaments."),
    ("Brain & Nerves", "brain-nerves", "Conditions of the brain, spinal cord and nerves, including long-lasting pain conditions."),
    ("Cancer", "cancer", "Cancers that start in or spread to the bones, and cancers of the blood."),
    ("Heart & Blood Vessels", "heart-blood-vessels", "Conditions of the heart and blood vessels, and the blood fats that affect them."),
    ("Hormones & Metabolism", "hormones-metabolism", "Conditions of the glands that make hormones, and of vitamins and minerals."),
    ("Immune System", "immune-system", "Conditions in which the immune system attacks the body or overreacts."),
    ("Injuries", "injuries", "Broken bones, torn ligaments and other injuries."),
    ("Kidneys", "kidneys", "Conditions of the kidneys and how they affect the rest of the body."),
]


def create_body_systems(category_model):
    """Create or refresh the categories (``category_model`` may be a migration's historical model)."""
    for name, slug, description in BODY_SYSTEMS:
        category_model.objects.update_or_create(slug=slug, defaults={"name": name, "description": description})
