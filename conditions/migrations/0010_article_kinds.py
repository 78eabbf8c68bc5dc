"""Five kinds of article (condition, symptom, test, treatment, body), the sections of the new
kinds, and ``schema_type``. Key Points and References stay last in every kind, so their
stored positions move past the new sections' (``kinds.SectionKind`` order)."""

from django.db import migrations, models

POSITIONS = {"key-points": (7, 20), "references": (8, 21)}  # kind: (before, after)


def renumber(forward):
    def apply(apps, schema_editor):
        section = apps.get_model("conditions", "ArticleSection")
        for kind, (before, after) in POSITIONS.items():
            section.objects.filter(kind=kind).update(position=after if forward else before)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0009_search_models_to_search_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="schema_type",
            field=models.CharField(
                blank=True,
                help_text="The schema.org type the article is about, when more precise than its kind's (ImagingTest, Drug, …).",
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="article",
            name="kind",
            field=models.CharField(
                choices=[("condition", "Condition"), ("symptom", "Symptom"), ("test", "Test"), ("treatment", "Treatment"), ("body", "Body part")],
                db_index=True,
                default="condition",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="articlesection",
            name="kind",
            field=models.CharField(
                choices=[
                    ("overview", "Overview"),
                    ("symptoms-and-causes", "Symptoms and Causes"),
                    ("diagnosis-and-tests", "Diagnosis and Tests"),
                    ("management-and-treatment", "Management and Treatment"),
                    ("outlook-prognosis", "Outlook / Prognosis"),
                    ("prevention", "Prevention"),
                    ("living-with", "Living With"),
                    ("possible-causes", "Possible Causes"),
                    ("care-and-treatment", "Care and Treatment"),
                    ("test-details", "Test Details"),
                    ("results-and-follow-up", "Results and Follow-Up"),
                    ("risks", "Risks"),
                    ("procedure-details", "Procedure Details"),
                    ("risks-and-benefits", "Risks and Benefits"),
                    ("recovery-and-outlook", "Recovery and Outlook"),
                    ("when-to-get-help", "When to Get Help"),
                    ("function", "Function"),
                    ("anatomy", "Anatomy"),
                    ("conditions-and-disorders", "Conditions and Disorders"),
                    ("care", "Care"),
                    ("key-points", "Key Points"),
                    ("references", "References"),
                ],
                max_length=40,
            ),
        ),
        migrations.RunPython(renumber(True), renumber(False)),
    ]
