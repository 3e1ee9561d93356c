// Login screen: POST /api/v1/session, then back to the page that sent the
// user here.

import { ApiError, post } from './api.js';
import { h, replace, field, formError, clearErrors, showError } from './dom.js';

function safeNext(value) {
  // Only paths inside the console, never another origin or the API.
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/api/') || value.startsWith('/login')) {
    return '/alerts';
  }
  return value;
}

export async function renderLogin(ctx) {
  const next = safeNext(ctx.query.get('next'));
  if (ctx.session) {
    ctx.navigate(next, { replace: true });
    return;
  }

  const username = h('input', { type: 'text', autocomplete: 'username' });
  const password = h('input', { type: 'password', autocomplete: 'current-password' });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Log in' });
  const form = h('form', { class: 'panel login', novalidate: true },
    h('h1', { text: 'Log in to iocwatch' }),
    field('User name', username, { name: 'username' }),
    field('Password', password, { name: 'password' }),
    formError(),
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!username.value) {
      showError(form, { field: 'username', message: 'Enter your user name.' });
      return;
    }
    if (!password.value) {
      showError(form, { field: 'password', message: 'Enter your password.' });
      return;
    }
    submit.disabled = true;
    try {
      const session = await post('/session', { username: username.value, password: password.value });
      ctx.login(session);
      ctx.navigate(next, { replace: true });
    } catch (error) {
      let shown = error;
      if (error instanceof ApiError && error.status === 401) {
        shown = { field: null, message: 'The user name or password is wrong.' };
      } else if (error instanceof ApiError && error.status === 429) {
        const wait = error.retryAfter ? ` Try again in ${error.retryAfter} seconds.` : '';
        shown = { field: null, message: `Too many failed logins.${wait}` };
      }
      showError(form, shown);
      password.value = '';
    } finally {
      submit.disabled = false;
    }
  });

  replace(ctx.main, form);
  username.focus();
}
