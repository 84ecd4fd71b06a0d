"""Core schema: tenants and their configuration, catalogue, customers and their prices.

Tenant tables get row-level security on PostgreSQL (see comptoir.migrations.rls): the
catalogue an office shares with its resellers, and everything else each tenant keeps to itself.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 19:46:16.079720

"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import (
    disable_tenant_rls,
    enable_office_shared_rls,
    enable_tenant_rls,
)


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = ("comptoir",)
depends_on = None

SHARED_TABLES = ("categories", "products", "variants")
TENANT_TABLES = (
    "companies", "users", "hidden_products", "configurations", "configuration_items",
    "price_rules", "company_catalog_entries",
)


def upgrade():
    op.create_table('platform_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenants_generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_state'))
    )
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('theme', sa.String(length=64), nullable=True),
    sa.Column('primary_color', sa.String(length=7), nullable=True),
    sa.Column('accent_color', sa.String(length=7), nullable=True),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_type', sa.String(length=40), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['tenants.id'], name=op.f('fk_tenants_parent_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug'))
    )
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenants_parent_id'), ['parent_id'], unique=False)

    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'parent_id'], ['categories.tenant_id', 'categories.id'], name=op.f('fk_categories_tenant_id_categories')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_categories_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_categories_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'slug', name=op.f('uq_categories_tenant_id_slug'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_categories_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('companies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vat_number', sa.String(length=32), nullable=True),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_companies_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_companies_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_companies_tenant_id_name'))
    )
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_companies_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('configurations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('price IS NULL OR price >= 0', name=op.f('ck_configurations_price_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_configurations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_configurations')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_configurations_tenant_id_code')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_configurations_tenant_id_id'))
    )
    with op.batch_alter_table('configurations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_configurations_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tenant_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_domains_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_tenant_domains_domain'))
    )
    op.create_table('tenant_plugins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('plugin', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_plugins_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_plugins')),
    sa.UniqueConstraint('tenant_id', 'plugin', name=op.f('uq_tenant_plugins_tenant_id_plugin'))
    )
    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('tax_class', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('stocked', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('price >= 0', name=op.f('ck_products_price_not_negative')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_products_category_id_categories')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_products_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_products_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'sku', name=op.f('uq_products_tenant_id_sku'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'company_id'], ['companies.tenant_id', 'companies.id'], name=op.f('fk_users_tenant_id_companies')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_users_tenant_id_email')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_users_tenant_id_id'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('company_catalog_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('configuration_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('(product_id IS NULL) <> (configuration_id IS NULL)', name=op.f('ck_company_catalog_entries_product_xor_configuration')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_company_catalog_entries_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'company_id'], ['companies.tenant_id', 'companies.id'], name=op.f('fk_company_catalog_entries_tenant_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'configuration_id'], ['configurations.tenant_id', 'configurations.id'], name=op.f('fk_company_catalog_entries_tenant_id_configurations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_company_catalog_entries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_catalog_entries')),
    sa.UniqueConstraint('tenant_id', 'company_id', 'product_id', 'configuration_id', name=op.f('uq_company_catalog_entries_tenant_id_company_id_product_id_configuration_id'))
    )
    with op.batch_alter_table('company_catalog_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_catalog_entries_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_company_catalog_entries_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('hidden_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_hidden_products_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_hidden_products_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hidden_products')),
    sa.UniqueConstraint('tenant_id', 'product_id', name=op.f('uq_hidden_products_tenant_id_product_id'))
    )
    with op.batch_alter_table('hidden_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hidden_products_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('price_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('configuration_id', sa.Integer(), nullable=True),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('fixed_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('(CASE WHEN product_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN category_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN configuration_id IS NULL THEN 0 ELSE 1 END) <= 1', name=op.f('ck_price_rules_one_scope')),
    sa.CheckConstraint('(discount_percent IS NULL) <> (fixed_price IS NULL)', name=op.f('ck_price_rules_discount_xor_fixed')),
    sa.CheckConstraint('discount_percent IS NULL OR (discount_percent > 0 AND discount_percent < 100)', name=op.f('ck_price_rules_discount_range')),
    sa.CheckConstraint('fixed_price IS NULL OR fixed_price >= 0', name=op.f('ck_price_rules_fixed_not_negative')),
    sa.CheckConstraint('fixed_price IS NULL OR product_id IS NOT NULL OR configuration_id IS NOT NULL', name=op.f('ck_price_rules_fixed_needs_item')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_price_rules_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_price_rules_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'company_id'], ['companies.tenant_id', 'companies.id'], name=op.f('fk_price_rules_tenant_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'configuration_id'], ['configurations.tenant_id', 'configurations.id'], name=op.f('fk_price_rules_tenant_id_configurations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_price_rules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_rules'))
    )
    with op.batch_alter_table('price_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_rules_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_rules_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('price IS NULL OR price >= 0', name=op.f('ck_variants_price_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_variants_tenant_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_variants_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variants')),
    sa.UniqueConstraint('tenant_id', 'sku', name=op.f('uq_variants_tenant_id_sku'))
    )
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variants_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_variants_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('configuration_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('configuration_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_configuration_items_quantity_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'configuration_id'], ['configurations.tenant_id', 'configurations.id'], name=op.f('fk_configuration_items_tenant_id_configurations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_configuration_items_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_configuration_items_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_configuration_items'))
    )
    with op.batch_alter_table('configuration_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_configuration_items_configuration_id'), ['configuration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_configuration_items_tenant_id'), ['tenant_id'], unique=False)

    op.bulk_insert(
        sa.table("platform_state", sa.column("id", sa.Integer),
                 sa.column("tenants_generation", sa.Integer)),
        [{"id": 1, "tenants_generation": 0}],
    )
    for table in SHARED_TABLES:
        enable_office_shared_rls(table)
    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in SHARED_TABLES + TENANT_TABLES:
        disable_tenant_rls(table)
    with op.batch_alter_table('configuration_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_configuration_items_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_configuration_items_configuration_id'))

    op.drop_table('configuration_items')
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variants_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_variants_product_id'))

    op.drop_table('variants')
    with op.batch_alter_table('price_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_rules_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_price_rules_company_id'))

    op.drop_table('price_rules')
    with op.batch_alter_table('hidden_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hidden_products_tenant_id'))

    op.drop_table('hidden_products')
    with op.batch_alter_table('company_catalog_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_company_catalog_entries_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_company_catalog_entries_company_id'))

    op.drop_table('company_catalog_entries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_users_company_id'))

    op.drop_table('users')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_products_category_id'))

    op.drop_table('products')
    op.drop_table('tenant_plugins')
    op.drop_table('tenant_domains')
    with op.batch_alter_table('configurations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_configurations_tenant_id'))

    op.drop_table('configurations')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_companies_tenant_id'))

    op.drop_table('companies')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_categories_parent_id'))

    op.drop_table('categories')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenants_parent_id'))

    op.drop_table('tenants')
    op.drop_table('platform_state')
