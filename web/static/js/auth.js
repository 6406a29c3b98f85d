// Sign in and sign up: one form that switches between the two (/signin, /signup).

import { errorText } from './api.js';

/** showAuth shows the form in mode 'signin' or 'signup'; onDone(token, user) on success. */
export function showAuth(app, mode, onDone) {
  const $ = (id) => document.getElementById(id);
  document.getElementById('app').hidden = true;
  $('auth').hidden = false;
  const signup = mode === 'signup';
  $('auth-title').textContent = signup ? 'Create your chatd account' : 'Sign in to chatd';
  $('auth-display-row').hidden = !signup;
  $('auth-submit').textContent = signup ? 'Create account' : 'Sign in';
  $('auth-password').autocomplete = signup ? 'new-password' : 'current-password';
  $('auth-switch-text').textContent = signup ? 'Have an account?' : 'New here?';
  $('auth-switch').textContent = signup ? 'Sign in' : 'Create an account';
  $('auth-switch').setAttribute('href', signup ? '/signin' : '/signup');
  $('auth-error').textContent = '';
  $('auth-switch').onclick = (e) => { e.preventDefault(); app.navigate(signup ? '/signin' : '/signup' + location.search, true); };
  const invite = new URLSearchParams(location.search).get('invite');
  $('auth-invite').hidden = !invite;
  $('auth-invite').textContent = invite ? 'Sign in or create an account to accept your invite.' : '';
  $('auth-form').onsubmit = async (e) => {
    e.preventDefault();
    const username = $('auth-username').value.trim();
    const password = $('auth-password').value;
    $('auth-error').textContent = '';
    $('auth-submit').disabled = true;
    try {
      const body = { username, password };
      if (signup) body.display_name = $('auth-display').value.trim() || username;
      const res = await app.api.post(signup ? '/auth/register' : '/auth/login', body);
      $('auth-password').value = '';
      onDone(res.token, res.user);
    } catch (err) {
      $('auth-error').textContent = err.status === 401 ? 'Wrong username or password.' : errorText(err);
    } finally {
      $('auth-submit').disabled = false;
    }
  };
  $('auth-username').focus();
}
