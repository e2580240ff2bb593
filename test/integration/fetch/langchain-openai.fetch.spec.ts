import { langchainOpenaiDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(langchainOpenaiDriver);
