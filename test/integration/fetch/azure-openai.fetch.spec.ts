import { azureOpenaiDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(azureOpenaiDriver);
