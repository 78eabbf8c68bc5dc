"""The editorial roles as groups: Editor and Medical reviewer (see conditions/admin.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR = [
    "conditions.view_article", "conditions.add_article", "conditions.change_article",
    "conditions.view_category", "conditions.view_articleimage", "conditions.add_articleimage",
]
MEDICAL_REVIEWER = EDITOR + ["conditions.publish_article", "conditions.delete_article", "conditions.delete_articleimage"]
GROUPS = {"Editor": EDITOR, "Medical reviewer": MEDICAL_REVIEWER}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0003_article_image"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
