"""SyntheticTruth leaves annotation for the demo app, rows and all (demo's 0001 takes it over).

Two steps. The table is renamed annotation_synthetictruth -> demo_synthetictruth: a rename only
touches the catalog on PostgreSQL and SQLite (no row is copied, the id sequence, indexes and the
foreign key to annotation_video stay as they are; on PostgreSQL the constraints keep their
annotation_synthetictruth_* names: Django finds them by their columns, not their names), and the
table then carries the name of the app that owns it, as every other table does, instead of a
`db_table` override that would keep saying "annotation" for ever. Then the model leaves annotation's
migration state only: the database is not touched, because demo's 0001 adds the same model, on the
renamed table, to its own state. Unapplied, the model comes back into annotation's state and the
table gets its old name back.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0004_fk_indexes_covered_by_unique'),
    ]

    operations = [
        migrations.AlterModelTable(name='synthetictruth', table='demo_synthetictruth'),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='SyntheticTruth')],
            database_operations=[],
        ),
    ]
