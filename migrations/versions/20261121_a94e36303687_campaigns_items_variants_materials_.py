"""campaigns: items, variants, materials, versions, downloads, submissions

Revision ID: a94e36303687
Revises: 8a48614616ff
Create Date: 2026-11-21 21:23:41.660441
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models.base


revision: str = 'a94e36303687'
down_revision: str | None = '8a48614616ff'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('material',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sa.Enum('film', 'audio', 'document', 'image', name='materialkind', native_enum=False, length=18), nullable=False),
    sa.Column('extension', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('original_filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processing_status', sa.Enum('none', 'pending', 'running', 'done', 'failed', name='processingstatus', native_enum=False, length=17), nullable=False),
    sa.Column('processing_error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('poster_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('whatsapp_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('whatsapp_size', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256')
    )
    op.create_table('campaign_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('message', 'film', 'script', 'poster', 'flyer', 'qa', 'event', name='itemkind', native_enum=False, length=17), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('base_language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('fallback_language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('starts_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('map_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('booking_help', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_item_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_recipient',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('added_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'organisation_id')
    )
    with op.batch_alter_table('campaign_recipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_recipient_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('film_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='submissionstatus', native_enum=False, length=18), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['campaign_item.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['material_id'], ['material.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('film_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_film_submission_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_film_submission_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('item_variant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('credited_organisation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['credited_organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['campaign_item.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['material_id'], ['material.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'language')
    )
    with op.batch_alter_table('item_variant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_variant_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_variant_material_id'), ['material_id'], unique=False)

    op.create_table('material_download',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=True),
    sa.Column('downloaded_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['material.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['variant_id'], ['item_variant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('material_download', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_download_material_id'), ['material_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_download_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_download_variant_id'), ['variant_id'], unique=False)

    op.create_table('variant_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('replaced_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['material_id'], ['material.id'], ),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['variant_id'], ['item_variant.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('variant_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variant_version_variant_id'), ['variant_id'], unique=False)

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('audience_spec', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('starts_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('publish_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('archived_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_campaign_audience_id'), ['audience_id'], unique=False)
        batch_op.create_foreign_key('fk_campaign_audience_id', 'audience', ['audience_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('fk_campaign_audience_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_campaign_audience_id'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('archived_at')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('published_at')
        batch_op.drop_column('publish_at')
        batch_op.drop_column('ends_on')
        batch_op.drop_column('starts_on')
        batch_op.drop_column('audience_spec')
        batch_op.drop_column('audience_id')

    with op.batch_alter_table('variant_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variant_version_variant_id'))

    op.drop_table('variant_version')
    with op.batch_alter_table('material_download', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_material_download_variant_id'))
        batch_op.drop_index(batch_op.f('ix_material_download_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_material_download_material_id'))

    op.drop_table('material_download')
    with op.batch_alter_table('item_variant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_variant_material_id'))
        batch_op.drop_index(batch_op.f('ix_item_variant_item_id'))

    op.drop_table('item_variant')
    with op.batch_alter_table('film_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_film_submission_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_film_submission_item_id'))

    op.drop_table('film_submission')
    with op.batch_alter_table('campaign_recipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_recipient_organisation_id'))

    op.drop_table('campaign_recipient')
    with op.batch_alter_table('campaign_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_item_campaign_id'))

    op.drop_table('campaign_item')
    op.drop_table('material')
