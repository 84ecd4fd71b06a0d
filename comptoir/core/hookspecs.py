"""Every hook a Comptoir plugin may implement: the plugin developer's contract.

A plugin is a module (or object) registered under the entry-point group ``comptoir.plugins``
whose functions are marked with :data:`comptoir.toolkit.hookimpl` and named like the hooks
below. Installing the package offers the plugin; each tenant turns it on or off, and a hook
implementation is called only for tenants that enabled its plugin (see
``comptoir.core.plugins.PluginHost.hooks``). An implementation may accept any subset of the
arguments a hook documents, by name.

Rules the plugin manager enforces at start-up:

- an implementation named after no hook here fails start-up (``check_pending``);
- ``@hookimpl(specname=...)`` is refused: a hook is implemented by a function of its own name,
  so that what a tenant turned off is plain to see and to test;
- hook wrappers (``wrapper=True``/``hookwrapper=True``) are refused: they would see the calls
  of every plugin, including for tenants that turned theirs off;
- an implementation that raises is logged with its plugin, hook and tenant, then skipped for
  that call: the page still renders, for that tenant and every other.

Hooks marked *firstresult* stop at the first implementation that returns something other
than ``None``. Every hook is documented with an example in ``docs/plugins.md``; a test fails
when one is not.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("comptoir")


# -------------------------------------------------------------------------------------------
# Start-up: called once per app, for every installed plugin, whoever enabled it.
# -------------------------------------------------------------------------------------------


@hookspec
def comptoir_blueprints() -> list[Any]:
    """Return the Flask blueprints of this plugin.

    Called once, while the app is built. The blueprints are registered on the app; their
    routes answer only on storefronts of tenants that enabled the plugin and are a 404
    elsewhere. Templates in the blueprint's ``template_folder`` can be overridden by themes.

    :return: a list of :class:`flask.Blueprint`.
    """


@hookspec
def comptoir_settings_schema() -> dict[str, Any] | None:
    """Return the JSON Schema of this plugin's per-tenant settings.

    Called for one plugin at a time, when a tenant's settings for it are saved or shown.
    Settings are validated against it before they are stored; a bad value is refused with a
    message naming the field, and the previous settings stay. ``default`` values in the
    schema are what a tenant gets when neither it nor its office set the field.

    :return: a JSON Schema (an ``object`` with ``properties``), or ``None`` for no settings.
    """


@hookspec
def comptoir_migrations_dir() -> str | None:
    """Return the folder holding this plugin's Alembic revision files.

    Called when migrations run (``comptoir db upgrade``). The plugin's revisions form a branch
    of their own (``branch_labels=("<plugin>",)``, ``depends_on`` a core revision) and own
    tables prefixed with the plugin's name.

    :return: an absolute path, or ``None`` when the plugin has no tables.
    """


@hookspec
def comptoir_api_resources() -> Any:
    """Return this plugin's resources in the REST API (``/api/v1/``) and the scopes they need.

    Called once, while the app is built, after the core's resources are registered. Build
    each resource's blueprint with ``comptoir.toolkit.api``: ``api.blueprint(name,
    description, plugin=True)`` serves it at ``/api/v1/<name>``, ``api.documented`` declares
    a route's scope and its error responses, ``api.page``/``api.one`` answer lists (keyset
    pagination) and details, as the core's resources do. The blueprints are registered and
    documented in the OpenAPI document of every shop; a shop that did not enable the plugin
    answers their routes with a 404 (``not_found``). The scopes join the core's: a shop may
    grant them to its API clients while it enables the plugin. Start-up fails if a route
    requires a scope the plugin did not declare, or a scope is declared twice.

    :return: a :class:`comptoir.toolkit.api.ApiResources` (``blueprints``, and ``scopes``:
        scope name to English description), or ``None``.
    """


# -------------------------------------------------------------------------------------------
# Pages: called while a storefront page renders, only for the tenant's enabled plugins.
# -------------------------------------------------------------------------------------------


@hookspec
def comptoir_template_vars(tenant: Any, template_name: str) -> dict[str, Any] | None:
    """Return extra variables for a storefront template.

    Called before each storefront template renders. Results of all plugins are merged; on a clash
    the plugin registered first wins (pluggy calls the last registered first), and the
    core's own variables are never replaced.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param template_name: the template about to render, e.g. ``"storefront/home.html"``.
    :return: a dict of variables, or ``None``.
    """


@hookspec
def comptoir_page_blocks(tenant: Any, slot: str, context: dict[str, Any]) -> str | None:
    """Return HTML to insert at a named place of the storefront pages.

    Called when a template renders ``{{ blocks("<slot>") }}``, or
    ``{{ blocks("<slot>", name=value...) }}`` to hand the block what the page is about.
    Slots of the default theme: ``header`` (under the navigation), ``home`` (storefront
    home, above the products), ``cart`` (the cart page, under the checkout button),
    ``product`` (a product page, under the "add to cart" form; ``context``: ``product``, the
    product, and ``variant``, the version shown), ``order`` (a customer's order page, under
    its lines; ``context``: ``order``), ``footer`` (above the legal mentions). Return
    :class:`markupsafe.Markup` for trusted HTML; a plain string is escaped.

    ``context`` came later than the other arguments: an implementation that does not name it
    is called as before, which is why it is a dict rather than arguments of its own (a slot's
    values differ from one slot to the next).

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param slot: the slot's name.
    :param context: what the page passed for this slot (empty for ``header``, ``home``,
        ``cart`` and ``footer``); read-only.
    :return: HTML, or ``None`` to add nothing.
    """


@hookspec
def comptoir_menu_items(tenant: Any) -> list[dict[str, str]] | None:
    """Return links for the storefront's navigation bar.

    Called on every storefront page. Items are shown after the core's, in plugin order.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :return: a list of ``{"label": ..., "url": ...}``, or ``None``.
    """


# -------------------------------------------------------------------------------------------
# Money, tax and locale: answers the core asks for when it prices, invoices or renders.
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def comptoir_vat_table(tenant: Any, country: str) -> Any:
    """Return the VAT table of ``country``: its rates with their dates, and its rounding.

    Called when a price is shown, a checkout is totalled or an order is taxed, first on the
    tenant's enabled plugins for its own country; for a destination country (a distance sale
    under the EU One-Stop Shop) on every installed plugin, with ``tenant`` ``None``, since a
    table is reference data. *firstresult*: stops at the first non-``None`` result; with no
    table for its own country a shop charges no VAT and says so on its pages.

    Build the table once, at import, so a mistake in it fails at start-up: a
    :class:`comptoir.toolkit.VatTable` checks that every rate has a date it comes into force
    and a known tax class. An office's scheduled changes (its ``vat_rate_changes`` setting)
    are added by the core.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`, or ``None``.
    :param country: ISO 3166 alpha-2 code of the country whose VAT is wanted.
    :return: a :class:`comptoir.toolkit.VatTable`, or ``None`` if this plugin does not know
        ``country``.
    """


@hookspec
def comptoir_adjust_price(tenant: Any, item: Any, company: Any, price: Any) -> Any:
    """Return a lower price for an item, or ``None`` to leave it.

    Called whenever a price is shown or charged (catalogue, product page, cart, order), after
    the company's negotiated prices were applied. Every plugin is asked; the lowest answer
    wins, so a customer always gets the best price that applies. An answer above ``price``,
    negative, or not a ``Decimal`` is logged and ignored.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param item: the :class:`~comptoir.catalog.models.Variant` or
        :class:`~comptoir.catalog.models.Configuration` being priced.
    :param company: the buyer's :class:`~comptoir.customers.models.Company`, or ``None``
        for a consumer or a visitor.
    :param price: the price so far, a ``Decimal`` excluding VAT.
    :return: a ``Decimal`` not above ``price``, or ``None``.
    """


@hookspec
def comptoir_legal_mentions(tenant: Any) -> list[str] | None:
    """Return the legal mentions to print in the storefront footer and on invoices.

    Called on every storefront page and invoice. Mentions of all plugins are shown in order.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :return: a list of sentences, already translated, or ``None``.
    """


@hookspec
def comptoir_invoice_mentions(tenant: Any, order: Any) -> list[str] | None:
    """Return what the law adds to this order's invoice, beyond the shop's legal mentions.

    Called when an invoice is drawn (HTML or PDF). The mentions of all plugins are printed
    after the core's (payment terms, the VAT regime's wording from the country's table):
    late-payment penalties between businesses in France, for instance.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the :class:`~comptoir.orders.models.Order` being invoiced.
    :return: a list of sentences, already translated, or ``None``.
    """


@hookspec
def comptoir_mail_footer(tenant: Any, locale: str) -> list[str] | None:
    """Return the legal lines every marketing e-mail of this shop ends with.

    Called when the newsletters plugin (or any sender of marketing mail) builds a message
    for a reader whose language is ``locale``; the lines of all plugins are printed in
    order, under the shop's name and address. The country's locale plugin answers with the
    seller's identity and what its law requires, in ``locale``.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param locale: the reader's locale, one the shop offers (``fr_CH``, ``de_CH``...).
    :return: a list of lines, or ``None``.
    """


# -------------------------------------------------------------------------------------------
# Checkout and orders: called while a customer checks out and as an order moves on.
# -------------------------------------------------------------------------------------------


@hookspec
def comptoir_payment_methods(tenant: Any, company: Any) -> list[dict[str, Any]] | None:
    """Return the payment methods this plugin offers at checkout.

    Called when the checkout page is shown and when an order is placed (a method not offered
    then is refused). The core itself offers ``invoice`` (companies, payment terms) and
    ``bank_transfer``. A method marked ``"online": True`` is paid right after the order is
    placed: the order waits in ``awaiting_payment`` with its stock held for a limited time,
    the buyer is sent to :func:`comptoir_payment_page`, and the plugin marks it paid with
    :func:`comptoir.toolkit.settle_payment` once the provider confirms.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param company: the buyer's company, or ``None`` for a consumer or a guest.
    :return: a list of ``{"code": ..., "label": ..., "description": ..., "online": bool}``
        (``online`` optional, false by default), or ``None``.
    """


@hookspec(firstresult=True)
def comptoir_payment_page(tenant: Any, order: Any) -> str | None:
    """Return the URL where the buyer pays ``order`` online, or ``None``.

    Called after an order with an online payment method is placed (the buyer is redirected
    there) and on the order's page while it awaits payment ("Pay now"). *firstresult*: stops
    at the first non-``None`` result; the plugin that handles ``order.payment_method``
    answers, the others return ``None``.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the :class:`~comptoir.orders.models.Order`, status ``awaiting_payment``.
    :return: a URL, or ``None``.
    """


@hookspec(firstresult=True)
def comptoir_payment_abandoned(tenant: Any, order: Any) -> bool | None:
    """Say whether an order whose payment window closed may be cancelled.

    Called by the periodic job that cancels unpaid orders (``orders.expire_unpaid``), before
    it cancels one. The plugin handling ``order.payment_method`` cancels the pending payment
    at its provider and returns ``True``; if the provider says the money arrived (or is still
    being processed), it returns ``False`` and the order is kept for the payment to settle.
    *firstresult*: stops at the first non-``None`` result; with none the order is cancelled.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the :class:`~comptoir.orders.models.Order`, status ``awaiting_payment``.
    :return: ``True`` to cancel, ``False`` to keep, ``None`` if not this plugin's order.
    """


@hookspec
def comptoir_order_discounts(tenant: Any, user: Any, company: Any,
                             lines: list[Any]) -> list[Any] | None:
    """Return the discounts an order about to be priced is given, or ``None``.

    Called by the cart's and the checkout's summaries and again when the order is booked
    (not for an accepted quote: its prices were negotiated), with the order's lines as they
    stand. The core applies every plugin's discounts: it caps what comes off a line at the
    line's net price, so no line and no total is ever negative, takes each discount off
    ``line_net`` before VAT is computed (VAT after discount), shows it on the line, and
    records the causes in ``order.discounts``. A plugin combines or refuses its own promotions; the
    core only adds what plugins return.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param user: the buyer, or ``None`` for a guest.
    :param company: the buyer's company, or ``None``.
    :param lines: the order's lines (unsaved ``OrderLine`` objects: ``sku``, ``name``,
        ``quantity``, ``unit_net``, ``line_net``, ``tax_class``, ``is_shipping``), goods
        first, the delivery last if charged. Do not change them.
    :return: a list of :class:`comptoir.toolkit.Discount`, or ``None``.
    """


@hookspec(firstresult=True)
def comptoir_order_booking(tenant: Any, order: Any, user: Any) -> str | None:
    """Claim what an order uses up, in the order's own transaction, or refuse it.

    Called when the order is booked, after its lines, discounts and totals are written and
    before anything is committed: record a coupon's use, spend loyalty points. Claim with
    guarded writes (``UPDATE ... WHERE balance >= :points``) so that two checkouts at once
    cannot both spend the same points. *firstresult*: stops at the first non-``None``
    result (``""`` or ``False`` count as ``None``, so the next plugin still claims its own),
    a sentence (already translated) that refuses the order: nothing of it is kept,
    its stock is released and the buyer reads the sentence. Unlike other request-time
    hooks, a plugin that raises here refuses the order too: a discount given without its
    claim recorded would be given twice.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the :class:`~comptoir.orders.models.Order`, flushed (it has an ``id``),
        with ``lines`` and ``discounts``.
    :param user: the buyer, or ``None`` for a guest.
    :return: a sentence refusing the order, or ``None``.
    """


@hookspec(firstresult=True)
def comptoir_checkout_veto(tenant: Any, user: Any, company: Any, net: Any,
                           currency: str) -> str | None:
    """Return why this order cannot be placed at all, or ``None``.

    Called when the order is totalled, before any stock is reserved or anything written.
    *firstresult*: stops at the first non-``None`` result, which the checkout shows to the
    buyer as the reason the order is refused (the approvals plugin refuses an order that
    nobody in the buyer's chain may approve).

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param user: the buyer, or ``None`` for a guest.
    :param company: the buyer's company, or ``None``.
    :param net: the order's total excluding VAT, a ``Decimal``.
    :param currency: its ISO 4217 code.
    :return: a sentence, already translated, or ``None`` to let the order through.
    """


@hookspec(firstresult=True)
def comptoir_checkout_hold(tenant: Any, order: Any, user: Any) -> str | None:
    """Return a reason to hold an order instead of placing it, or ``None``.

    Called once the order is built, before it is placed. *firstresult*: stops at the first
    non-``None`` result; the order is then saved with the status ``pending_approval`` and
    the reason in its audit trail, its stock still reserved (the approvals plugin holds
    orders above a buyer's signing limit this way).

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the :class:`~comptoir.orders.models.Order`, with its lines and totals.
    :param user: the buyer, or ``None`` for a guest.
    :return: a sentence saying why the order waits, or ``None`` to place it.
    """


@hookspec(firstresult=True)
def comptoir_withdrawal_days(tenant: Any) -> int | None:
    """Return how many days after delivery a consumer may send an order back.

    Called when an order page offers a return and when a return is requested.
    *firstresult*: stops at the first non-``None`` result; with no answer the core allows 14
    days, the EU minimum (France: articles L221-18 and following of the Consumer Code).

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :return: a number of days, or ``None``.
    """


@hookspec(firstresult=True)
def comptoir_refund(tenant: Any, order: Any, amount: Any) -> str | None:
    """Refund ``amount`` of ``order`` through the way it was paid; return a reference.

    Called when staff mark a return as received (the returned lines' share, or what is left
    to refund when the last units come back), when they refund part of an order by hand, and
    when a paid order is cancelled. ``amount`` never exceeds
    what is left to refund (``order.refundable``, checked before the call). *firstresult*:
    stops at the first non-``None`` result: the plugin that handles the order's
    ``payment_method`` answers with the refund's reference (a card refund id...); the others
    return ``None``. The core handles ``invoice`` and ``bank_transfer`` with a credit note.
    An exception (logged, as for any plugin) records nothing: the return stays received but
    not refunded, and staff are told and may retry.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the :class:`~comptoir.orders.models.Order`.
    :param amount: the ``Decimal`` to refund, VAT included.
    :return: the refund's reference, or ``None`` if this plugin does not handle the order.
    """


@hookspec
def comptoir_order_event(tenant: Any, order: Any, event: str) -> None:
    """React to an order moving on.

    Called after the change is committed, with ``event`` one of ``placed`` (also for an
    order that now awaits an online payment), ``held``, ``awaiting_payment`` (an approved
    order the buyer now pays online), ``paid`` (also when the payment of an invoice that
    shipped already is recorded: the order keeps its status), ``shipped``, ``delivered``,
    ``cancelled``, ``partly_returned`` (a return of some units was received; the order stays
    ``delivered``; see ``comptoir.toolkit.returned_quantities``) or ``returned``.
    Commissions, newsletters and notifications hang here.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the :class:`~comptoir.orders.models.Order`.
    :param event: what happened.
    """


# -------------------------------------------------------------------------------------------
# Customers, commissions and payouts: who brought a customer, what they earn, paying them.
# -------------------------------------------------------------------------------------------


@hookspec
def comptoir_customer_registered(tenant: Any, user: Any) -> None:
    """React to a new customer account.

    Called after the account is committed, inside the request that created it (a guest who
    registers after ordering), so the request's cookies are readable: the affiliates plugin
    binds the customer to the reseller or affiliate who referred them.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param user: the new :class:`~comptoir.customers.models.User`.
    """


@hookspec(firstresult=True)
def comptoir_order_referral(tenant: Any, order: Any) -> str | None:
    """Return the referral code ``order`` itself carries, or ``None``.

    Asked by a plugin that credits whoever brought an order (the affiliates plugin, when the
    order is placed): a coupon bound to an affiliate makes the order that used it that
    affiliate's, whatever referral cookie the browser had. The promotions plugin answers
    with the affiliate code of the coupon the order used (written when the order was
    booked). It lets the two plugins work together without importing each other.
    *firstresult*: stops at the first non-``None`` result.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param order: the booked :class:`~comptoir.orders.models.Order`.
    :return: a referral code as referral links carry it (``BLOGPRO``), or ``None``.
    """


@hookspec
def comptoir_customer_event(tenant: Any, user: Any, event: str, details: dict) -> None:
    """React to something a logged-in customer did or that concerns them.

    Called by the core with ``event`` ``product_viewed`` (``details``: ``sku``, ``name``,
    ``product_id``) when a logged-in customer opens a product page, and by plugins through
    ``comptoir.toolkit.customer_event`` for their own events (the promotions plugin says
    ``loyalty_points_expiring`` with ``points`` and ``expires_on``). The newsletters plugin
    turns them into browse-abandonment and loyalty reminders. It is called inside the
    request or job that saw the event; an implementation records what it needs and returns
    at once (send mail from a job, not from here).

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param user: the :class:`~comptoir.customers.models.User` concerned.
    :param event: what happened, a short name.
    :param details: plain values describing it (text, numbers, ISO dates).
    """


@hookspec
def comptoir_adjust_commission(tenant: Any, affiliate: Any, line: Any,
                               amount: Any) -> Any | None:
    """Return a new commission for one order line, or ``None`` to keep ``amount``.

    Called by the affiliates plugin when an order is paid, once per goods line, after its
    rules computed ``amount``. Every implementation is called, each seeing the amount the
    rules gave; the lowest answer wins (a promotion that must not pay commission answers
    ``Decimal("0")``). Amounts below zero are read as zero.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param affiliate: the affiliate credited (``code``, ``kind``, ``name``).
    :param line: the :class:`~comptoir.orders.models.OrderLine`.
    :param amount: the commission the rules computed, a ``Decimal`` in the order's currency.
    :return: a ``Decimal``, or ``None``.
    """


@hookspec(firstresult=True)
def comptoir_transfer(tenant: Any, account: str, amount: Any, currency: str,
                      reference: str) -> str | None:
    """Send ``amount`` to a payee's account; return the transfer's reference.

    Called when a payout is paid (the affiliates plugin's statements). *firstresult*: stops
    at the first non-``None`` result; the stripe plugin answers for ``acct_...`` accounts with
    a Stripe Connect transfer. With no answer the payout is marked paid by hand instead, with
    the reference of the bank transfer staff made.

    :param tenant: the current :class:`comptoir.toolkit.TenantInfo`.
    :param account: the payee's account at the provider (``acct_...``).
    :param amount: a ``Decimal``.
    :param currency: its ISO 4217 code.
    :param reference: what the payee's statement should say; also the idempotency key.
    :return: the provider's reference, or ``None`` if this plugin cannot pay that account.
    """


# -------------------------------------------------------------------------------------------
# Mail to one customer: the messages a shop owes a customer, whichever part of it sends them.
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def comptoir_transactional_mail(tenant: Any, to: str, subject: str, body: str, locale: str,
                                dedupe_key: str, reply_to: str | None,
                                headers: dict[str, str]) -> bool | None:
    """Send one transactional message (a ticket's acknowledgement, a survey...) for the shop.

    Called by :func:`comptoir.toolkit.transactional_mail` whenever the core or a plugin owes a
    customer a message about their account, order or request, after every argument was
    checked. A plugin that owns the tenant's mail delivery sends it its own way and returns
    ``True``: the newsletters plugin uses the tenant's own SMTP server and sender, adds the
    legal footer and the note that the message is sent whatever the reader's newsletter
    choices, sends each ``dedupe_key`` once, retries temporary failures and follows bounces.
    *firstresult*: stops at the first non-``None`` result; with none the core sends the
    message itself through its mail service (``COMPTOIR_MAIL_URL``, or the outbox folder)
    from ``COMPTOIR_MAIL_FROM``.

    :param tenant: the :class:`comptoir.toolkit.TenantInfo` the message is sent for.
    :param to: the customer's address (``addr`` or ``Name <addr>``).
    :param subject: the subject, already translated.
    :param body: the plain-text body, already translated, blank lines between paragraphs.
    :param locale: the language ``subject`` and ``body`` are written in (``fr_FR``...): what
        the sender writes its own lines (footer, notes) in.
    :param dedupe_key: unique per tenant for this message, the sending plugin's name first
        (``support:ticket:12:ack``); a message with a key sent before is not sent again.
    :param reply_to: where the customer's answer should go (a ticket's reply address), or
        ``None``.
    :param headers: extra headers (never From, To, Subject...), possibly empty.
    :return: ``True`` if this plugin took the message (sent, queued, or sent before under
        that key), ``None`` to let another plugin or the core send it.
    """


# -------------------------------------------------------------------------------------------
# Platform: what the platform admin's dashboard asks each tenant's plugins.
# -------------------------------------------------------------------------------------------


@hookspec
def comptoir_platform_status(tenant: Any) -> list[dict[str, str]] | None:
    """Report the health of this plugin's work for one tenant, for the platform dashboard.

    Called by the platform admin's dashboard (``/platform/``) and an office's resellers page,
    once per listed tenant, inside that tenant's scope (its data readable as in a request of
    its shop, row-level security included). Keep it to a few cheap aggregate queries: a
    page lists 50 tenants. The newsletters plugin reports its deliveries queued, sending and
    failed over the last 24 hours and its last campaign's state.

    :param tenant: the :class:`comptoir.toolkit.TenantInfo` being reported on.
    :return: a list of ``{"label": str, "value": str, "level": "ok" | "warning" |
        "error"}`` (label and value already translated), or ``None`` for nothing to say.
    """
