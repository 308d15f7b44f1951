"""partner registry: organisation details, languages, areas, channels, uptake, audiences, contacts

Revision ID: 8a48614616ff
Revises: c7ad9fb72510
Create Date: 2026-11-21 20:21:07.332106
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models.base


revision: str = '8a48614616ff'
down_revision: str | None = 'c7ad9fb72510'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('area_uptake',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('measured_on', sa.Date(), nullable=False),
    sa.Column('age_band', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('share_percent', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('area_id', 'measured_on', 'age_band')
    )
    with op.batch_alter_table('area_uptake', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_area_uptake_area_id'), ['area_id'], unique=False)

    op.create_table('organisation_area',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'area_id')
    )
    with op.batch_alter_table('organisation_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_area_area_id'), ['area_id'], unique=False)

    op.create_table('organisation_channel',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('whatsapp', 'facebook', 'instagram', 'newsletter', 'email_list', 'sms_list', 'poster', 'flyer', 'meeting', 'sermon', 'door_to_door', 'website', 'other', name='channel', native_enum=False, length=30), nullable=False),
    sa.Column('audience_estimate', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'channel')
    )
    op.create_table('organisation_language',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'language')
    )
    with op.batch_alter_table('organisation_language', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_language_language'), ['language'], unique=False)

    op.create_table('audience',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('dpa_accepted_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dpa_version', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('offboarded_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_organisation_external_id', ['external_id'])

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('notify_by', sa.Enum('email', 'sms', 'both', 'none', name='notifyby', native_enum=False, length=15), nullable=False, server_default='email'))
        batch_op.add_column(sa.Column('org_role', sa.Enum('coordinator', 'member', name='orgrole', native_enum=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('erased_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('org_role')
        batch_op.drop_column('notify_by')
        batch_op.drop_column('phone')

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint('uq_organisation_external_id', type_='unique')
        batch_op.drop_column('offboarded_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('dpa_version')
        batch_op.drop_column('dpa_accepted_at')
        batch_op.drop_column('external_id')
        batch_op.drop_column('notes')
        batch_op.drop_column('description')

    op.drop_table('audience')
    with op.batch_alter_table('organisation_language', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_language_language'))

    op.drop_table('organisation_language')
    op.drop_table('organisation_channel')
    with op.batch_alter_table('organisation_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_area_area_id'))

    op.drop_table('organisation_area')
    with op.batch_alter_table('area_uptake', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_area_uptake_area_id'))

    op.drop_table('area_uptake')
