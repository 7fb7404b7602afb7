import base from '@fixthread/eslint-config';

export default base;
