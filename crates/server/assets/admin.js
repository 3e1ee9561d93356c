// Administration: users and roles, API tokens (the secret shown once) and
// the audit trail.

import { get, post, patch, del, query, segment } from './api.js';
import {
  h, replace, field, select, time, formError, clearErrors, showError, toast, table, panel, copyText,
} from './dom.js';
import { auditTable } from './watchlists.js';

const ROLES = [['viewer', 'viewer'], ['analyst', 'analyst'], ['admin', 'admin']];
const AUDIT_PAGE = 100;

function itemsOf(data) {
  if (Array.isArray(data)) return data;
  return (data && data.items) || [];
}

export async function renderUsers(ctx) {
  const users = itemsOf(await get('/users'));
  if (!ctx.isCurrent()) return;

  const rows = users.map((user) => {
    const role = select(ROLES, user.role);
    role.setAttribute('aria-label', `Role of ${user.name}`);
    role.addEventListener('change', async () => {
      try {
        await patch(`/users/${segment(user.name)}`, { role: role.value });
        toast(`${user.name} is now ${role.value}.`);
      } catch (error) {
        toast(error.message);
        role.value = user.role;
      }
    });
    const remove = h('button', { type: 'button', class: 'small danger', text: 'Delete', 'aria-label': `Delete user ${user.name}` });
    remove.addEventListener('click', async () => {
      if (!window.confirm(`Delete the user ${user.name}? Their tokens stop working.`)) return;
      try {
        await del(`/users/${segment(user.name)}`);
        toast(`User ${user.name} deleted.`);
        ctx.navigate('/admin/users', { replace: true });
      } catch (error) {
        toast(error.message);
      }
    });
    const toggle = h('button', { type: 'button', class: 'small', text: user.disabled ? 'Enable' : 'Disable', 'aria-label': `${user.disabled ? 'Enable' : 'Disable'} user ${user.name}` });
    toggle.addEventListener('click', async () => {
      try {
        await patch(`/users/${segment(user.name)}`, { disabled: !user.disabled });
        toast(`User ${user.name} ${user.disabled ? 'enabled' : 'disabled'}.`);
        ctx.navigate('/admin/users', { replace: true });
      } catch (error) {
        toast(error.message);
      }
    });
    const self = user.name === ctx.session.user.name;
    return [
      user.name, role, user.disabled ? 'disabled' : 'enabled', time(user.created_at),
      self ? h('span', { class: 'muted', text: 'you' }) : h('span', { class: 'actions' }, toggle, remove),
    ];
  });

  const name = h('input', { type: 'text', autocomplete: 'off', size: 16 });
  const password = h('input', { type: 'password', autocomplete: 'new-password', size: 16 });
  const role = select(ROLES, 'analyst');
  const form = h('form', { 'aria-label': 'Add a user' },
    h('div', { class: 'form-row' },
      field('User name', name, { name: 'name' }),
      field('Password', password, { name: 'password' }),
      field('Role', role, { name: 'role' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Add user' }))),
    formError());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await post('/users', { name: name.value.trim(), password: password.value, role: role.value });
      toast(`User ${name.value.trim()} added.`);
      ctx.navigate('/admin/users', { replace: true });
    } catch (error) {
      showError(form, error);
    }
  });

  replace(ctx.main, h('h1', { text: 'Users' }),
    h('div', { class: 'panel' }, table(['Name', 'Role', 'State', 'Created', ''], rows, { empty: 'No user.', caption: 'Users' })),
    panel('Add a user', form));
}

export async function renderTokens(ctx) {
  const tokens = itemsOf(await get('/tokens'));
  if (!ctx.isCurrent()) return;

  const rows = tokens.map((token) => {
    const revoke = h('button', { type: 'button', class: 'small danger', text: 'Revoke', 'aria-label': `Revoke token ${token.name}` });
    revoke.addEventListener('click', async () => {
      if (!window.confirm(`Revoke the token ${token.name}? Programs using it lose access at once.`)) return;
      try {
        await del(`/tokens/${segment(token.id)}`);
        toast(`Token ${token.name} revoked.`);
        ctx.navigate('/admin/tokens', { replace: true });
      } catch (error) {
        toast(error.message);
      }
    });
    return [
      token.name, token.owner || '—', time(token.created_at), time(token.last_used_at),
      token.revoked_at ? h('span', null, 'revoked ', time(token.revoked_at)) : revoke,
    ];
  });

  const name = h('input', { type: 'text', size: 24 });
  const secretBox = h('div', { 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Create a token' },
    h('div', { class: 'form-row' },
      field('Token name', name, { name: 'name', hint: 'What uses it, such as "siem-export".' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Create token' }))),
    formError(), secretBox);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!name.value.trim()) {
      showError(form, { field: 'name', message: 'Enter a name for the token.' });
      return;
    }
    try {
      const created = await post('/tokens', { name: name.value.trim() });
      const secret = h('code', { class: 'token-secret break', text: created.token });
      const copy = h('button', { type: 'button', class: 'small', text: 'Copy' });
      copy.addEventListener('click', async () => {
        copy.textContent = (await copyText(created.token, secret)) ? 'Copied' : 'Selected: press Ctrl+C';
      });
      replace(secretBox, h('div', { class: 'secret', role: 'alert' },
        h('p', null, h('strong', { text: 'Copy the token now: ' }), 'it is shown only once and stored hashed.'),
        h('p', null, secret, ' ', copy),
        h('p', { class: 'muted', text: 'Send it as the header "Authorization: Bearer <token>".' }),
        h('button', { type: 'button', text: 'Done', onclick: () => ctx.navigate('/admin/tokens', { replace: true }) })));
      name.value = '';
    } catch (error) {
      showError(form, error);
    }
  });

  replace(ctx.main, h('h1', { text: 'API tokens' }),
    panel('Create a token', form),
    h('div', { class: 'panel' }, table(['Name', 'Owner', 'Created', 'Last used', ''], rows, { empty: 'No token yet.', caption: 'API tokens' })));
}

export async function renderAudit(ctx) {
  const actor = h('input', { type: 'text', size: 16, value: ctx.query.get('actor') || '' });
  const target = h('input', { type: 'text', size: 24, value: ctx.query.get('target') || '' });
  let offset = Math.max(0, Number.parseInt(ctx.query.get('offset') || '0', 10) || 0);
  const form = h('form', { role: 'search', 'aria-label': 'Filter the audit trail' },
    h('div', { class: 'form-row' },
      field('Actor', actor, { name: 'actor' }),
      field('Target', target, { name: 'target', hint: 'Such as watchlist:c2, allowlist:198.51.100.23, alert:ID or user:NAME; a trailing * matches a prefix.' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Filter' }))),
    formError());
  const box = h('div');
  const prev = h('button', { type: 'button', text: '← Newer' });
  const next = h('button', { type: 'button', text: 'Older →' });
  const pageText = h('span', { class: 'muted' });

  async function load() {
    clearErrors(form);
    const params = new URLSearchParams();
    if (actor.value.trim()) params.set('actor', actor.value.trim());
    if (target.value.trim()) params.set('target', target.value.trim());
    if (offset) params.set('offset', String(offset));
    ctx.setQuery(params);
    try {
      const data = await get(`/audit${query({ limit: AUDIT_PAGE, offset, actor: actor.value.trim(), target: target.value.trim() })}`);
      if (!ctx.isCurrent()) return;
      const items = itemsOf(data);
      const total = data.total ?? items.length;
      replace(box, auditTable(items, 'No audit entry matches.'));
      pageText.textContent = `${total === 0 ? 0 : offset + 1}–${offset + items.length} of ${total}`;
      prev.disabled = offset === 0;
      next.disabled = offset + items.length >= total;
    } catch (error) {
      showError(form, error);
    }
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); offset = 0; load(); });
  prev.addEventListener('click', () => { offset = Math.max(0, offset - AUDIT_PAGE); load(); });
  next.addEventListener('click', () => { offset += AUDIT_PAGE; load(); });

  replace(ctx.main, h('h1', { text: 'Audit trail' }), panel('Filter', form),
    h('div', { class: 'panel' }, box, h('nav', { class: 'pager', 'aria-label': 'Audit pages' }, prev, next, pageText)));
  await load();
}
